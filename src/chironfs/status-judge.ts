import type {Config} from '../config/schema.js'
import {commandLine} from '../system/runner.js'
import {worst, type Finding, type Verdict} from '../storage/verdict.js'
import {mountOf, type MountEntry} from '../storage/mounts.js'
import {formatDuration} from '../storage/units.js'
import {chooseAuthoritative, type Authority} from './authority.js'
import type {Difference, Divergence} from './divergence.js'
import {mountCommand, mountUnitName} from './mount.js'
import {assessNfsMount, exportOptionsFor, isNfs} from './nfs.js'
import type {ChironfsView} from './observe.js'
import type {ReplicaProbe} from './probe.js'
import {describeOverlap} from './replica-paths.js'
import type {Replica} from './replicas.js'
import type {StatusObservation} from './status-observe.js'

/**
 * The judging half of `lnstore status` in mode chironfs: pure, readings in, findings out. For each
 * replica, whether it answers, is writable, has room, is enabled in ChironFS, holds the newest
 * node database and the same files; for the mount, whether it is there, whether the replicas are
 * really separate copies, and which replica heal would copy from.
 */

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

export interface Judgement {
  /** Findings about the mount as a whole. */
  findings: Finding[]
  replicas: ReplicaReport[]
  /** Which replica heal would copy from, and why not when it would refuse; null when all agree. */
  authority: Authority | null
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const HEAL = 'lnstore heal   (stops the node, copies the authoritative replica over this one, verifies, restarts)'
/** When no replica is clearly right, heal refuses: the operator decides, and a clean comparison closes it. */
const BY_HAND = 'decide which copy is right (lnstore status --json lists every difference), copy it over the others with the node stopped, then: lnstore scrub --wait'

export function judgeStatus(observation: StatusObservation, config: Config, options: {full?: boolean}): Judgement {
  const {mountpoint, mounted, dataMount, view, divergence, now} = observation
  const settings = config.chironfs
  const findings: Finding[] = [...observation.trustFindings]
  // By hand, without the boot unit: ChironFS leaves its control socket behind, and a new mount that finds it exits.
  const mountByHand = `rm -f ${settings.controlSocket} && ${commandLine(mountCommand({...settings, replicas: observation.replicas, mountpoint}))}`
  if (!mounted) {
    findings.push({
      verdict: 'CRITICAL',
      message: `ChironFS is not mounted at the node's data directory ${mountpoint}${dataMount ? ` (${dataMount.source}, ${dataMount.fsType} is)` : ''}: a node started now writes to no replica`,
      next: `systemctl start ${mountUnitName(mountpoint)}   (or: ${mountByHand})`,
    })
  } else if (observation.mountProblem) {
    findings.push({
      verdict: 'CRITICAL',
      message: `ChironFS is mounted at ${mountpoint} but does not answer (${observation.mountProblem}): its process is gone or hung, and the node can neither read nor write its data`,
      next: `fusermount -u -z ${mountpoint} && systemctl restart ${mountUnitName(mountpoint)}   (or: fusermount -u -z ${mountpoint} && ${mountByHand})`,
    })
  } else {
    if (view.controlError) findings.push({verdict: 'WARNING', message: `cannot read ChironFS's replica status: ${view.controlError}`, next: "lnstore status relies on its own checks meanwhile; check the mount's --ctl option"})
    if (view.logError) findings.push({verdict: 'WARNING', message: `cannot read ChironFS's log: ${view.logError}; failed writes go unrecorded`, next: `mount ChironFS with --log ${settings.log}`})
    findings.push(...observation.nodeFindings)
  }

  for (const overlap of observation.overlaps) {
    findings.push({
      verdict: 'CRITICAL',
      message: `${describeOverlap(overlap)}: ChironFS keeps one copy of the node's data there, not two`,
      next: 'give each replica its own directory on its own disk (one on another machine), then: lnstore init --chironfs with the new replicas',
    })
  }

  findings.push(...sameFilesystemFindings(observation))
  const reports = observation.replicas.map((replica, index) => replicaReport(replica, index, observation, config))
  for (const report of reports) findings.push(...report.nfsFindings)

  let authority: Authority | null = null
  if (divergence && (divergence.differences.length > 0 || divergence.behind.length > 0)) {
    authority = chooseAuthoritative(
      reports.map((report) => {
        const database = observation.checkedCopies.get(report.path) ?? divergence.replicas.find((look) => look.replica === report.path)?.database ?? null
        if (database && database.check !== 'not run') report.integrity = database.check
        return {replica: report.path, reachable: report.probe.reachable, database, disabledByChironfs: report.enabled === false || report.disabledInLog}
      }),
      divergence.differences,
      observation.highWater,
    )
    if (authority.problem) findings.push({verdict: 'CRITICAL', message: authority.problem, next: `${BY_HAND}   (lnstore heal refuses until one replica is clearly right)`})
  }

  for (const report of reports) judgeReplica(report, divergence, authority)
  if (!options.full) findings.push(...comparisonFindings(observation, config, reports, authority, now))
  return {findings, replicas: reports.map(({nfsFindings: _unused, ...report}) => report), authority}
}

/** What the last full comparison (scrub) found, and whether one is due. */
function comparisonFindings(observation: StatusObservation, config: Config, reports: ReplicaReport[], authority: Authority | null, now: number): Finding[] {
  const {lastScrub, verified, divergence} = observation
  const findings: Finding[] = []
  if (lastScrub?.errors) {
    // Hashing finds what a quick look cannot (a changed file of the same size and time): the files it named are hashed again by every status until a heal or a clean comparison.
    const ago = formatDuration((now - lastScrub.endedAt) / 1000)
    const seen = divergence?.differences.filter((difference) => verified.suspects.includes(difference.path)) ?? []
    const files = verified.suspects.length > 0 ? `: ${verified.suspects.slice(0, 5).join(', ')}${verified.suspects.length > 5 ? ', ...' : ''}` : ''
    const healable = authority !== null && authority.problem === null && reports.some((report) => report.verdict !== 'OK')
    findings.push({
      verdict: 'CRITICAL',
      message: `the last full comparison of the replicas (${ago} ago) found ${lastScrub.errors} problem${lastScrub.errors === 1 ? '' : 's'}${files}${seen.length > 0 ? ` (still there: ${seen.map((difference) => difference.detail).join('; ')})` : ''}`,
      next: authority?.problem ? BY_HAND : healable ? 'lnstore heal   (then lnstore scrub to compare again)' : 'lnstore scrub --wait   (a quick look no longer sees it: compare in full again)',
    })
  }

  const age = lastScrub ? (now - lastScrub.endedAt) / 1000 : null
  if (age === null || age > config.health.scrubMaxAgeDays * 86_400) {
    findings.push({
      verdict: 'WARNING',
      message: age === null ? 'no full comparison of the replicas on record (ChironFS keeps no checksums: only that finds silent corruption)' : `the last full comparison of the replicas was ${formatDuration(age)} ago`,
      next: 'lnstore scrub --wait   (lnstore schedule install runs it weekly)',
    })
  }

  return findings
}

function sameFilesystemFindings({replicas, probes, overlaps}: StatusObservation): Finding[] {
  const byDevice = new Map<number, string[]>()
  probes.forEach((probe, index) => {
    if (probe.device !== undefined) byDevice.set(probe.device, [...(byDevice.get(probe.device) ?? []), replicas[index].path])
  })
  const overlapping = (paths: string[]) => overlaps.some((overlap) => paths.includes(overlap.first) && paths.includes(overlap.second))
  return [...byDevice.values()]
    .filter((paths) => paths.length > 1 && !overlapping(paths))
    .map((paths) => ({
      verdict: 'WARNING' as const,
      message: `replicas ${paths.join(' and ')} are on the same filesystem: one disk failure loses both, so the second copy protects nothing`,
      next: 'put each replica on its own disk, one of them on another machine (NFS); then lnstore init --chironfs with the new replicas',
    }))
}

type WorkingReport = ReplicaReport & {nfsFindings: Finding[]}

function replicaReport(replica: Replica, index: number, observation: StatusObservation, config: Config): WorkingReport {
  const probe = observation.probes[index]
  const view: ChironfsView = observation.view
  const mount: MountEntry | null = mountOf(replica.path, observation.mounts)
  const nfs = mount !== null && isNfs(mount)
  let exportOptions: string[] | null = null
  if (mount && nfs) {
    const [host, exported] = [mount.source.slice(0, mount.source.lastIndexOf(':')), mount.source.slice(mount.source.lastIndexOf(':') + 1)]
    if (LOCAL_HOSTS.has(host)) exportOptions = exportOptionsFor(observation.etab, exported)
  }

  const look = observation.divergence?.replicas.find((candidate) => candidate.replica === replica.path)
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
    disabledInLog: view.log?.disabled.includes(observation.resolved[index]) ?? false,
    dataVersion: look?.database?.dataVersion ?? null,
    ...(look?.database && look.database.check !== 'not run' ? {integrity: look.database.check} : {}),
    nfs,
    verdict: 'OK',
    findings,
    nfsFindings: mount ? assessNfsMount(replica.path, mount, exportOptions) : [],
  }
}

function judgeReplica(report: ReplicaReport, divergence: Divergence | null, authority: Authority | null): void {
  const add = (verdict: Verdict, message: string, next?: string) => report.findings.push({verdict, message, ...(next ? {next} : {})})
  // Heal only where heal would act: with no replica clearly right it refuses.
  const heal = authority?.problem ? BY_HAND : HEAL
  const {probe} = report
  if (!probe.reachable) {
    add('CRITICAL', `does not answer: ${probe.error ?? 'unknown error'}; it is not a backup while it is gone`, report.nfs ? 'check the NFS server and the network; once it answers: lnstore heal' : `check the disk holding ${report.path}; once it answers: lnstore heal`)
  } else if (!probe.writable) {
    add('CRITICAL', `is not writable (${probe.stage ?? 'write'}: ${probe.error ?? 'unknown error'}): ChironFS disables it at the next write`, 'fix the cause, then: lnstore heal')
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
