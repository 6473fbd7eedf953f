import {readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {readJsonFile} from '../state/json-file.js'
import {ownerAlive, readRunOwner, type RunOwner} from '../state/run-lock.js'
import {worst, type Finding} from '../storage/verdict.js'
import {runLockPath, stoppedStep, type Journal} from './engine.js'

/**
 * The runbooks that have not finished (completed or aborted), read from their journals for
 * `status`, `monitor`, the alert mail, the ZED hook and `preflight`: a node stopped by a run that
 * was killed must never go unmentioned, nor its disk be advised back `zpool online`.
 */
export interface OpenRun {
  kind: string
  since: number
  updatedAt: number
  /** The process running it now, or null when it was interrupted (killed, failed, machine rebooted). */
  live: RunOwner | null
  /** The step it stopped at (or is at), with its error when it failed. */
  step: {title: string; status: string; error?: string} | null
  /** The node was stopped by this run and not started again by it. */
  nodeStopped: boolean
  /** It changed the pool (or, for a runbook that does not say, did anything at all). */
  touchedStorage: boolean
  /** It is starting the node right now (its start step, or the undo of its stop, is running): the start gate lets that through. */
  startingNode: boolean
  /** For replace-disk: the pool and the device being replaced, as zpool names it. */
  pool?: string
  device?: string
  /** The exact command that continues it. */
  command: string
}

const STARTED = new Set(['done', 'running', 'failed', 'undoing'])

export async function readOpenRuns(stateDir: string): Promise<OpenRun[]> {
  const directory = join(stateDir, 'runbooks')
  // Sync: the state directory is local and small (see src/state/json-file.ts).
  let names: string[]
  try {
    names = readdirSync(directory)
  } catch {
    names = []
  }

  const runs: OpenRun[] = []
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    // A journal that cannot be read is itself an open question: reported as such, never skipped.
    const kind = name.slice(0, -'.json'.length)
    let journal: Journal<Record<string, unknown>> | null
    try {
      journal = await readJsonFile<Journal<Record<string, unknown>> | null>(join(directory, name), null)
    } catch (error) {
      runs.push({kind, since: 0, updatedAt: 0, live: null, step: {title: `(the journal is unreadable: ${(error as Error).message})`, status: 'failed'}, nodeStopped: false, touchedStorage: true, startingNode: false, command: `lnstore ${kind} --abort`})
      continue
    }

    if (!journal || (journal.state !== 'running' && journal.state !== 'failed')) continue
    runs.push(await describeRun(stateDir, journal))
  }

  return runs
}

async function describeRun(stateDir: string, journal: Journal<Record<string, unknown>>): Promise<OpenRun> {
  const owner = await readRunOwner(runLockPath(stateDir, journal.kind))
  const live = owner && ownerAlive(owner) ? owner : null
  const {steps, context} = journal
  const has = (effect: string, statuses: Set<string>) => steps.some((step) => step.effect === effect && statuses.has(step.status))
  // Stopped by this run, and still down: a node started again outside the run (by hand, by systemd) is not kept stopped by it.
  const stopped = has('stops-node', STARTED) && context.nodeWasRunning !== false && !(await nodeRunsNow(context.node))
  const started = has('starts-node', new Set(['done']))
  const described = steps.some((step) => step.effect)
  const touchedStorage = described ? has('changes-pool', STARTED) || stopped : steps.some((step) => STARTED.has(step.status))
  const startingNode = live !== null && (has('starts-node', new Set(['running'])) || has('stops-node', new Set(['undoing'])))
  const at = stoppedStep(journal)
  return {
    kind: journal.kind,
    since: journal.createdAt,
    updatedAt: journal.updatedAt,
    live,
    step: at ? {title: at.title, status: at.status, ...(at.error ? {error: at.error} : {})} : null,
    nodeStopped: stopped && !started,
    touchedStorage,
    startingNode,
    ...(typeof context.pool === 'string' ? {pool: context.pool} : {}),
    ...(typeof context.failing === 'string' ? {device: context.failing} : {}),
    command: `lnstore ${journal.kind} --resume`,
  }
}

/** Whether the node of a run's settings runs now: its pid file names a live process (a cheap look: status runs often). */
async function nodeRunsNow(node: unknown): Promise<boolean> {
  const settings = node as {dataDir?: string; network?: string} | undefined
  if (!settings?.dataDir || !settings.network) return false
  const pid = Number((await readFile(join(settings.dataDir, `lightningd-${settings.network}.pid`), 'utf8').catch(() => '')).trim())
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** One finding per open run: CRITICAL while it keeps the node stopped, WARNING otherwise. */
export function openRunFindings(runs: OpenRun[]): Finding[] {
  return runs.map((run) => {
    const since = run.since ? ` since ${new Date(run.since).toISOString()}` : ''
    const where = run.step ? `${run.step.status === 'failed' ? 'failed at' : run.live ? 'at' : 'stopped at'} "${run.step.title}"${run.step.error ? ` (${run.step.error})` : ''}` : 'at its end'
    const node = run.nodeStopped ? 'the node is STOPPED by it' : 'it has not stopped the node'
    const message = run.live
      ? `\`lnstore ${run.kind}\` is running now (pid ${run.live.pid})${since}, ${where}; ${node}`
      : `an unfinished \`lnstore ${run.kind}\` run${since}, ${where}; ${node}. Continue it with \`${run.command}\`, or take it back with \`lnstore ${run.kind} --abort\``
    return {
      verdict: run.nodeStopped ? 'CRITICAL' : 'WARNING',
      message,
      // Waiting for a live run is a command too: it returns once that process has ended.
      next: run.live ? `tail --pid=${run.live.pid} -f /dev/null; lnstore status` : run.command,
    }
  })
}

/**
 * The start gate's view: an open run that touched the storage or stopped the node forbids a start,
 * except the start that very run is making (its own start step, or its abort starting the node).
 */
export function openRunStartFindings(runs: OpenRun[]): Finding[] {
  return runs
    .filter((run) => (run.touchedStorage || run.nodeStopped) && !run.startingNode)
    .map((run) => ({
      verdict: 'CRITICAL',
      message: `${openRunFindings([run])[0].message}: the node must not start while it is open (it checks the data before it starts the node itself)`,
      next: run.live ? `tail --pid=${run.live.pid} -f /dev/null; lnstore preflight` : run.command,
    }))
}

/** A status result with the open runs' findings added in front, and its verdict raised to match. */
export async function withOpenRuns<T extends {verdict: Finding['verdict']; findings: Finding[]}>(result: T, stateDir: string): Promise<T> {
  const findings = openRunFindings(await readOpenRuns(stateDir))
  return {...result, verdict: worst([result.verdict, ...findings.map((finding) => finding.verdict)]), findings: [...findings, ...result.findings]}
}
