import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {checkAndAlert} from '../alerts/check.js'
import type {Config} from '../config/schema.js'
import type {ScrubResult} from '../storage/view.js'
import {appendEvent} from '../state/events.js'
import {HistoryStore, type ScrubRun} from '../state/history.js'
import {lock, LockHeldError} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {formatDuration} from '../storage/units.js'
import {SCOPE} from './replicas.js'
import {checkChironfsStatus, type ChironfsReport} from './status.js'

/**
 * `lnstore scrub` in mode chironfs: ChironFS keeps no checksums, so the scrub is lnstore's full
 * comparison of the replicas: every file hashed, SQLite's integrity check on every copy of the
 * node database, confirmed by a second look. It is recorded in the history as the mount's scrub
 * (what `status` reports as the last full comparison, and what the weekly schedule runs), its
 * differences in events.json, and judged and alerted on as `status` does.
 */
export async function scrubReplicas(deps: Deps, options: {config: Config; stateDir: string; log: (line: string) => void}): Promise<ScrubResult> {
  await mkdir(options.stateDir, {recursive: true})
  const release = await lock(join(options.stateDir, `scrub-${SCOPE}.lock`), 0).catch((error: unknown) => {
    if (error instanceof LockHeldError) return null
    throw error
  })
  if (!release) return {verdict: null, pools: [{pool: SCOPE, state: 'refused', message: 'another lnstore scrub is already comparing the replicas'}], status: null, error: null, alerts: null}
  try {
    const startedAt = deps.now()
    options.log('comparing every replica in full (every file hashed, the database checked in each)')
    const seen: {report?: ChironfsReport} = {}
    const check = await checkAndAlert(deps, {
      config: options.config,
      stateDir: options.stateDir,
      pools: [],
      log: options.log,
      async check() {
        const status = await checkChironfsStatus(deps, {config: options.config, stateDir: options.stateDir, full: true})
        seen.report = status.chironfs
        return status
      },
    })
    const {report} = seen
    if (!report) return {verdict: 'UNKNOWN', pools: [], status: null, error: check.error?.message ?? 'the replicas could not be compared', alerts: check.alerts}
    const run = await recordComparison(deps, options.stateDir, report, startedAt)
    const message = `compared ${report.replicas.length} replicas in ${formatDuration(run.durationSeconds)}: ${run.errors === 0 ? 'they hold the same data' : `${run.errors} problem${run.errors === 1 ? '' : 's'}`}`
    options.log(message)
    for (const line of problemLines(report)) options.log(`  ${line}`)
    return {verdict: check.status?.verdict ?? 'UNKNOWN', pools: [{pool: SCOPE, state: 'finished', message, run}], status: check.status, error: null, alerts: check.alerts}
  } finally {
    await release()
  }
}

/** What the comparison found, in words naming the files and the replicas, and what to run next. */
export function problemLines(report: ChironfsReport): string[] {
  const lines = [
    ...report.differences.map((difference) => difference.detail),
    ...report.replicas.flatMap((replica) => replica.findings.filter((finding) => finding.verdict !== 'OK' && !/differs from the other replicas/.test(finding.message)).map((finding) => `${replica.path}: ${finding.message}`)),
  ]
  if (lines.length === 0) return []
  const {authority} = report
  if (authority?.problem) return [...lines, `lnstore heal refuses: ${authority.problem}`]
  if (authority?.authoritative) return [...lines, ...authority.stale.map((entry) => `${entry.replica} is stale: ${entry.reason}`), `next: lnstore heal   (copies ${authority.authoritative} over the stale replicas, verified)`]
  return lines
}

/** Problems a full comparison found: differences, replicas behind, damaged or unreachable copies. */
export function comparisonProblems(report: ChironfsReport): number {
  const damaged = report.replicas.filter((replica) => replica.integrity !== undefined && replica.integrity !== 'ok').length
  const unreachable = report.replicas.filter((replica) => !replica.probe.reachable).length
  const behind = report.replicas.filter((replica) => replica.findings.some((finding) => /is behind/.test(finding.message))).length
  return report.differences.length + damaged + unreachable + behind
}

/** Records a full comparison as the mount's scrub in the history, and its details in events.json. */
export async function recordComparison(deps: Deps, stateDir: string, report: ChironfsReport, startedAt: number): Promise<ScrubRun> {
  const endedAt = deps.now()
  const run: ScrubRun = {pool: SCOPE, startedAt, endedAt, durationSeconds: (endedAt - startedAt) / 1000, errors: comparisonProblems(report), devices: []}
  await new HistoryStore(stateDir).recordScrub(run, endedAt)
  await appendEvent(stateDir, {
    at: endedAt,
    kind: 'replicas-compared',
    pool: SCOPE,
    detail: {
      problems: run.errors,
      differences: report.differences.map((difference) => difference.detail),
      replicas: report.replicas.map((replica) => ({path: replica.path, dataVersion: replica.dataVersion, integrity: replica.integrity ?? null, verdict: replica.verdict})),
    },
  })
  return run
}
