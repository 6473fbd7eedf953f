import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import {readDatabase} from '../node/data-version.js'
import {observeNodeData} from '../node/observe.js'
import type {PoolView, StatusResult, VdevView} from '../storage/view.js'
import {readFreshness} from '../state/freshness.js'
import {HistoryStore} from '../state/history.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {trustFindings} from '../system/trust.js'
import {worst, type Finding, type Verdict} from '../storage/verdict.js'
import {mountOf, parseMountInfo, type MountEntry} from '../storage/mounts.js'
import {formatDuration} from '../storage/units.js'
import {chooseAuthoritative, type Authority} from './authority.js'
import {checkDivergence, type Difference, type Divergence} from './divergence.js'
import {mountCommand} from './mount.js'
import {assessNfsMount, exportOptionsFor, isNfs} from './nfs.js'
import {observeChironfs, resolvedPath, type ChironfsView} from './observe.js'
import {probeReplica, type ReplicaProbe} from './probe.js'
import {configuredReplicas, formatReplica, type Replica} from './replicas.js'

/**
 * `lnstore status` in mode chironfs: for each replica, whether it answers (in a child process with
 * a timeout), is writable and has room; what ChironFS itself says (control interface and log);
 * whether the replicas still hold the same data (trees, and the node database's data_version);
 * and the NFS replica's mount options. The result has the same shape as ZFS mode (one "pool",
 * `chironfs`, whose devices are the replicas), so verdicts, --json, exit codes and alerts work alike.
 */

export const SCOPE = 'chironfs'

export interface ReplicaReport {
  path: string
  slow: boolean
  probe: ReplicaProbe
  /** ChironFS's control interface: enabled or disabled; null when it could not be read. */
  enabled: boolean | null
  disabledInLog: boolean
  dataVersion: number | null
  integrity?: string
  nfs: boolean
  verdict: Verdict
  findings: Finding[]
}

export interface ChironfsReport {
  mountpoint: string
  mounted: boolean
  replicas: ReplicaReport[]
  differences: Difference[]
  /** Which replica heal would copy from, and why not when it would refuse; null when all agree. */
  authority: Authority | null
  /** How many looks the divergence check took (2 when the first saw something to confirm). */
  looks: number
  view: ChironfsView
}

export type ChironfsStatusResult = StatusResult & {chironfs: ChironfsReport}

export interface ChironfsCheckOptions {
  config: Config
  stateDir: string
  /** Hash every file and run SQLite's integrity check on every copy (scrub). */
  full?: boolean
  /** Skip reading and recording the node database through the mount (preflight judges it itself). */
  skipNodeData?: boolean
  /** The config file in use (status, as root, warns when others can change it or lnstore). */
  configFile?: string | null
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

export async function checkChironfsStatus(deps: Deps, options: ChironfsCheckOptions): Promise<ChironfsStatusResult> {
  const {config} = options
  const settings = config.chironfs
  const now = deps.now()
  const mountpoint = config.dataDir!
  const replicas = configuredReplicas(settings)
  const probes = await Promise.all(replicas.map((replica) => probeReplica(deps.runner, replica.path, settings.probeTimeoutSeconds * 1000)))
  const mounts = parseMountInfo(await deps.readFile('/proc/self/mountinfo'))
  const resolved = await Promise.all(replicas.map((replica, index) => resolvedPath(replica.path, probes[index].reachable)))
  const view = await observeChironfs(deps, settings, replicas, resolved)
  const reachable = replicas.filter((_, index) => probes[index].reachable).map((replica) => replica.path)
  const divergence: Divergence | null =
    reachable.length >= 2 ? await checkDivergence(reachable, {full: options.full ?? false, integrity: options.full ?? false, settleMs: settings.settleSeconds * 1000}) : null

  const findings: Finding[] = []
  // Run as root, lnstore warns when others could change what root runs (the start gate, skipping node data, judges for itself).
  if (!options.skipNodeData && process.getuid?.() === 0) findings.push(...trustFindings(options.configFile))
  const dataMount = mounts.findLast((mount) => mount.mountPoint === mountpoint.replace(/\/+$/, ''))
  const mounted = dataMount?.fsType === 'fuse.chironfs' || dataMount?.fsType === 'fuse' && dataMount.source === 'chironfs'
  if (!mounted) {
    findings.push({
      verdict: 'CRITICAL',
      message: `ChironFS is not mounted at the node's data directory ${mountpoint}${dataMount ? ` (${dataMount.source}, ${dataMount.fsType} is)` : ''}: a node started now writes to no replica`,
      next: `systemctl start ${mountUnitName(mountpoint)}   (or: ${commandLine(mountCommand({...settings, replicas, mountpoint}))})`,
    })
  } else {
    if (view.controlError) findings.push({verdict: 'WARNING', message: `cannot read ChironFS's replica status: ${view.controlError}`, next: 'lnstore status relies on its own checks meanwhile; check the mount\'s --ctl option'})
    if (view.logError) findings.push({verdict: 'WARNING', message: `cannot read ChironFS's log: ${view.logError}; failed writes go unrecorded`, next: `mount ChironFS with --log ${settings.log}`})
    // Only the mounted filesystem holds the node's real data: watch it for a rollback as ZFS mode does.
    if (!options.skipNodeData) findings.push(...(await observeNodeData(mountpoint, options.stateDir, now, 'status')))
  }

  findings.push(...sameFilesystemFindings(replicas, probes))
  const etab = await deps.readFile('/var/lib/nfs/etab').catch(() => '')
  const reports = replicas.map((replica, index) => replicaReport(replica, probes[index], index, mounts, etab, view, resolved[index], divergence, config))
  for (const report of reports) findings.push(...report.nfsFindings)

  let authority: Authority | null = null
  if (divergence && (divergence.differences.length > 0 || divergence.behind.length > 0)) {
    authority = await decideAuthority(divergence, reports, await highWaterMark(options.stateDir, mountpoint, divergence.databasePath))
    if (authority.problem) findings.push({verdict: 'CRITICAL', message: authority.problem, next: 'lnstore heal refuses until one replica is clearly right: compare the replicas by hand (lnstore status --json lists every difference)'})
  }

  for (const report of reports) judgeReplica(report, divergence, authority)
  const history = await new HistoryStore(options.stateDir).read().catch(() => null)
  const lastScrub = history?.scrubs[SCOPE] ?? null
  if (!options.full && lastScrub?.errors) {
    // Hashing finds what a quick look cannot (a changed file of the same size and time): it stands until a heal or a clean comparison.
    findings.push({
      verdict: 'CRITICAL',
      message: `the last full comparison of the replicas (${formatDuration((now - lastScrub.endedAt) / 1000)} ago) found ${lastScrub.errors} problem${lastScrub.errors === 1 ? '' : 's'} (listed in ${join(options.stateDir, 'events.json')})`,
      next: 'lnstore heal   (then lnstore scrub to compare again)',
    })
  }

  if (!options.full) {
    const age = lastScrub ? (now - lastScrub.endedAt) / 1000 : null
    if (age === null || age > config.health.scrubMaxAgeDays * 86_400) {
      findings.push({
        verdict: 'WARNING',
        message: age === null ? 'no full comparison of the replicas on record (ChironFS keeps no checksums: only that finds silent corruption)' : `the last full comparison of the replicas was ${formatDuration(age)} ago`,
        next: 'lnstore scrub --wait   (lnstore schedule install runs it weekly)',
      })
    }
  }

  const replicaViews = reports.map(vdevView)
  const capacity = Math.max(-1, ...reports.map((report) => report.probe.usedPercent ?? -1))
  const pool: PoolView = {
    name: SCOPE,
    label: `the ChironFS replicas at ${mountpoint}`,
    state: mounted ? 'MOUNTED' : 'UNMOUNTED',
    verdict: worst([...findings.map((finding) => finding.verdict), ...reports.map((report) => report.verdict)]),
    read: null,
    write: null,
    cksum: null,
    scan: {kind: null, state: null, percent: null, errors: null, raw: ''},
    errors: null,
    capacityPercent: capacity < 0 ? null : capacity,
    lastScrub,
    findings,
    exactCounts: true,
    warnings: [],
    vdevs: replicaViews,
  }
  return {
    verdict: pool.verdict,
    findings: [],
    pools: [pool],
    source: {from: 'chironfs', dialect: 'text'},
    checkedAt: now,
    chironfs: {
      mountpoint,
      mounted,
      replicas: reports.map(({nfsFindings: _unused, ...report}) => report),
      differences: divergence?.differences ?? [],
      authority,
      looks: divergence?.looks ?? 0,
      view,
    },
  }
}

/** The systemd unit `lnstore init --chironfs` writes for the mount (systemd-escape of the path). */
export function mountUnitName(mountpoint: string): string {
  return `lnstore-chironfs@${mountpoint.replace(/^\/+|\/+$/g, '').replaceAll('-', '\\x2d').replaceAll('/', '-')}.service`
}

function sameFilesystemFindings(replicas: Replica[], probes: ReplicaProbe[]): Finding[] {
  const byDevice = new Map<number, string[]>()
  probes.forEach((probe, index) => {
    if (probe.device !== undefined) byDevice.set(probe.device, [...(byDevice.get(probe.device) ?? []), replicas[index].path])
  })
  return [...byDevice.values()]
    .filter((paths) => paths.length > 1)
    .map((paths) => ({
      verdict: 'WARNING' as const,
      message: `replicas ${paths.join(' and ')} are on the same filesystem: one disk failure loses both, so the second copy protects nothing`,
      next: 'put each replica on its own disk, one of them on another machine (NFS); then lnstore init --chironfs with the new replicas',
    }))
}

type WorkingReport = ReplicaReport & {nfsFindings: Finding[]}

function replicaReport(replica: Replica, probe: ReplicaProbe, index: number, mounts: MountEntry[], etab: string, view: ChironfsView, resolved: string, divergence: Divergence | null, config: Config): WorkingReport {
  const mount = mountOf(replica.path, mounts)
  const nfs = mount !== null && isNfs(mount)
  let exportOptions: string[] | null = null
  if (mount && nfs) {
    const [host, exported] = [mount.source.slice(0, mount.source.lastIndexOf(':')), mount.source.slice(mount.source.lastIndexOf(':') + 1)]
    if (LOCAL_HOSTS.has(host)) exportOptions = exportOptionsFor(etab, exported)
  }

  const look = divergence?.replicas.find((candidate) => candidate.replica === replica.path)
  const findings: Finding[] = []
  if (nfs && !replica.slow) findings.push({verdict: 'WARNING', message: `replica ${replica.path} is on NFS but not marked slow: ChironFS reads from it too, over the network`, next: `list it as :${replica.path} (a leading colon) in chironfs.replicas and remount`})
  const usage = probe.usedPercent
  if (usage !== undefined) {
    const over = usage >= config.health.capacityCriticalPercent ? 'CRITICAL' : usage >= config.health.capacityWarningPercent ? 'WARNING' : null
    if (over) findings.push({verdict: over, message: `${usage}% full: when it fills, writes fail there and ChironFS disables it`, next: `df -h ${replica.path}`})
  }

  return {
    path: replica.path,
    slow: replica.slow,
    probe,
    enabled: view.control?.[index]?.enabled ?? null,
    disabledInLog: view.log?.disabled.includes(resolved) ?? false,
    dataVersion: look?.database?.dataVersion ?? null,
    ...(look?.database && look.database.check !== 'not run' ? {integrity: look.database.check} : {}),
    nfs,
    verdict: 'OK',
    findings,
    nfsFindings: mount ? assessNfsMount(replica.path, mount, exportOptions) : [],
  }
}

/** Runs SQLite's integrity check on each copy (only when the replicas disagree: it reads every page), then decides. */
async function decideAuthority(divergence: Divergence, reports: WorkingReport[], highWater: number | null): Promise<Authority> {
  const states = await Promise.all(
    reports.map(async (report) => {
      let database = divergence.replicas.find((look) => look.replica === report.path)?.database ?? null
      if (database && divergence.databasePath && database.check === 'not run') {
        database = await readDatabase(join(report.path, divergence.databasePath)).catch(() => database)
        report.integrity = database!.check
      }

      return {replica: report.path, reachable: report.probe.reachable, database, disabledByChironfs: report.enabled === false || report.disabledInLog}
    }),
  )
  return chooseAuthoritative(states, divergence.differences, highWater)
}

/** The highest data_version lnstore has seen the node write through the mount (status and preflight record it); null when none is on record. */
export async function highWaterMark(stateDir: string, mountpoint: string, databasePath: string | null): Promise<number | null> {
  if (!databasePath) return null
  const state = await readFreshness(stateDir).catch(() => null)
  return state?.highWater[join(mountpoint, databasePath)]?.dataVersion ?? null
}

function judgeReplica(report: ReplicaReport, divergence: Divergence | null, authority: Authority | null): void {
  const add = (verdict: Verdict, message: string, next?: string) => report.findings.push({verdict, message, ...(next ? {next} : {})})
  const heal = 'lnstore heal   (stops the node, copies the authoritative replica over this one, verifies, restarts)'
  const {probe} = report
  if (!probe.reachable) {
    add('CRITICAL', `does not answer: ${probe.error ?? 'unknown error'}; it is not a backup while it is gone`, report.nfs ? 'check the NFS server and the network; once it answers: lnstore heal' : `check the disk holding ${report.path}; once it answers: lnstore heal`)
  } else if (!probe.writable) {
    add('CRITICAL', `is not writable (${probe.stage ?? 'write'}: ${probe.error ?? 'unknown error'}): ChironFS disables it at the next write`, `fix the cause, then: lnstore heal`)
  }

  if (report.enabled === false) add('CRITICAL', 'ChironFS disabled it after a write failed there: it no longer receives writes and falls further behind with each one', heal)
  else if (report.disabledInLog && report.enabled === null) add('CRITICAL', "ChironFS's log says it disabled this replica after a write failed there", heal)
  if (report.integrity && report.integrity !== 'ok' && report.integrity !== 'not run') add('CRITICAL', `its copy of the node database fails SQLite's integrity check (${report.integrity})`, heal)
  if (divergence?.behind.includes(report.path)) {
    const top = Math.max(...divergence.replicas.map((look) => look.database?.dataVersion ?? -1))
    add('CRITICAL', `its node database is behind: data_version ${report.dataVersion ?? 'none'}, the newest replica has ${top}; it is not a backup any more`, heal)
  }

  const odd = divergence?.differences.filter((difference) => isOddOneOut(difference, report.path, authority)) ?? []
  if (odd.length > 0) add('CRITICAL', `differs from the other replicas in ${odd.length} place${odd.length === 1 ? '' : 's'}: ${odd.slice(0, 3).map((difference) => difference.detail).join('; ')}${odd.length > 3 ? '; ...' : ''}`, heal)
  report.verdict = worst(report.findings.map((finding) => finding.verdict))
}

/** Whether a difference is this replica's: it is not with the authoritative replica (or, without one, in the smallest group). */
function isOddOneOut(difference: Difference, replica: string, authority: Authority | null): boolean {
  const mine = difference.groups.find((group) => group.includes(replica))
  if (!mine) return false
  if (authority?.authoritative) return !mine.includes(authority.authoritative)
  return mine.length <= Math.min(...difference.groups.map((group) => group.length))
}

function vdevView(report: ReplicaReport): VdevView {
  const state = !report.probe.reachable ? 'UNREACHABLE' : report.enabled === false ? 'DISABLED' : report.findings.some((finding) => finding.verdict === 'CRITICAL') ? 'STALE' : 'ONLINE'
  return {
    name: formatReplica(report),
    state,
    read: null,
    write: null,
    cksum: null,
    role: 'data',
    notes: [report.slow ? 'slow' : '', report.nfs ? 'nfs' : '', report.dataVersion === null ? '' : `data_version ${report.dataVersion}`].filter(Boolean),
    path: report.path,
    verdict: report.verdict,
    findings: report.findings,
    rates: null,
    children: [],
  }
}
