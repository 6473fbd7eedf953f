import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import {readDatabase, type DatabaseReading} from '../node/data-version.js'
import {observeNodeData} from '../node/observe.js'
import {readFreshness} from '../state/freshness.js'
import {HistoryStore, type ScrubRecord} from '../state/history.js'
import type {Deps} from '../system/deps.js'
import {trustFindings} from '../system/trust.js'
import type {Finding} from '../storage/verdict.js'
import {parseMountInfo, type MountEntry} from '../storage/mounts.js'
import {checkDivergence, type Divergence} from './divergence.js'
import {observeChironfs, resolvedPath, type ChironfsView} from './observe.js'
import {probeReplica, type ReplicaProbe} from './probe.js'
import {overlapsOnDisk, type ReplicaOverlap} from './replica-paths.js'
import {configuredReplicas, SCOPE, type Replica} from './replicas.js'
import {readVerified, recordComparisonOutcome, type VerifiedState} from './verified.js'

/**
 * The observing half of `lnstore status` in mode chironfs: every reading, and nothing judged.
 * The order matters: the node's database is read through the mount (and its high-water mark
 * raised) before any replica is read, so that every replica reading is at least as new as the
 * mark it is compared with; a replica ChironFS still writes to cannot then look "older than what
 * the node wrote" just because the node wrote in between.
 */
export interface StatusObservation {
  now: number
  mountpoint: string
  replicas: Replica[]
  probes: ReplicaProbe[]
  mounts: MountEntry[]
  /** What is mounted at the data directory, if anything. */
  dataMount: MountEntry | null
  mounted: boolean
  /** Why the mount does not answer (its process died: "Transport endpoint is not connected", or hangs); null when it does or is not mounted. */
  mountProblem: string | null
  /** Real paths (as ChironFS logs them) of the replicas that answered; the others as configured. */
  resolved: string[]
  view: ChironfsView
  /** /var/lib/nfs/etab, for the export options of a replica served from this machine. */
  etab: string
  /** Replicas that are one directory, or one inside another (those that answered). */
  overlaps: ReplicaOverlap[]
  /** What reading the node's database through the mount found (a rollback). */
  nodeFindings: Finding[]
  /** Run as root: what others could change of what root runs (the start gate judges that for itself). */
  trustFindings: Finding[]
  /** The highest data_version lnstore had seen the node write, taken before the replicas were read. */
  highWater: number | null
  divergence: Divergence | null
  /** Each copy of the node database with SQLite's integrity check, read only when the replicas disagree. */
  checkedCopies: Map<string, DatabaseReading | null>
  lastScrub: ScrubRecord | null
  verified: VerifiedState
}

export interface ObserveOptions {
  config: Config
  stateDir: string
  /** Hash every file and run SQLite's integrity check on every copy (scrub); records what every replica agrees on. */
  full?: boolean
  /** Skip reading and recording the node database through the mount (preflight judges it itself). */
  skipNodeData?: boolean
  /** The config file in use (status, as root, warns when others can change it or lnstore). */
  configFile?: string | null
}

export async function observeReplicas(deps: Deps, options: ObserveOptions): Promise<StatusObservation> {
  const {config, stateDir} = options
  const settings = config.chironfs
  const now = deps.now()
  const mountpoint = config.dataDir!
  const replicas = configuredReplicas(settings)
  const [probes, mountinfo, etab, history, verified] = await Promise.all([
    Promise.all(replicas.map((replica) => probeReplica(deps.runner, replica.path, settings.probeTimeoutSeconds * 1000))),
    deps.readFile('/proc/self/mountinfo'),
    deps.readFile('/var/lib/nfs/etab').catch(() => ''),
    new HistoryStore(stateDir).read().catch(() => null),
    readVerified(stateDir),
  ])
  const mounts = parseMountInfo(mountinfo)
  const dataMount = mounts.findLast((mount) => mount.mountPoint === mountpoint.replace(/\/+$/, '')) ?? null
  const mounted = dataMount?.fsType === 'fuse.chironfs' || (dataMount?.fsType === 'fuse' && dataMount.source === 'chironfs')
  const mountProblem = mounted ? await mountAnswers(deps, mountpoint, settings.probeTimeoutSeconds * 1000) : null
  // Through the mount first: the high-water mark the replicas are judged by is then never newer than they are.
  const nodeFindings = mounted && !mountProblem && !options.skipNodeData ? await observeNodeData(mountpoint, stateDir, now, 'status') : []
  const freshness = await readFreshness(stateDir).catch(() => null)

  const reachable = replicas.filter((_, index) => probes[index].reachable).map((replica) => replica.path)
  const resolved = await Promise.all(replicas.map((replica, index) => resolvedPath(replica.path, probes[index].reachable)))
  const [view, overlaps] = await Promise.all([observeChironfs(deps, settings, replicas, resolved), overlapsOnDisk(reachable)])
  // A replica that is another one under a second name is not compared with it (that finding is enough).
  const compared = reachable.filter((path) => !overlaps.some((overlap) => overlap.kind === 'same' && overlap.second === path))
  const frozen = replicas.filter((_, index) => view.control?.[index]?.enabled === false || view.log?.disabled.includes(resolved[index])).map((replica) => replica.path)
  const divergence =
    compared.length >= 2
      ? await checkDivergence(compared, {
          full: options.full ?? false,
          integrity: options.full ?? false,
          settleMs: settings.settleSeconds * 1000,
          frozen,
          suspects: verified.suspects,
          verified: verified.files,
        })
      : null
  const highWater = divergence?.databasePath ? (freshness?.highWater[join(mountpoint, divergence.databasePath)]?.dataVersion ?? null) : null

  const checkedCopies = new Map<string, DatabaseReading | null>()
  if (divergence && (divergence.differences.length > 0 || divergence.behind.length > 0)) {
    // The integrity check reads every page: only when the replicas disagree and one must be chosen.
    for (const look of divergence.replicas) {
      let database = look.database
      if (database && divergence.databasePath && database.check === 'not run') database = await readDatabase(join(look.replica, divergence.databasePath)).catch(() => database)
      checkedCopies.set(look.replica, database)
    }
  }

  if (options.full && divergence && divergence.replicas.every((look) => look.entries !== null)) {
    await recordComparisonOutcome(stateDir, divergence.replicas.map((look) => look.entries!), divergence.differences, now)
  }

  return {
    now,
    mountpoint,
    replicas,
    probes,
    mounts,
    dataMount,
    mounted,
    mountProblem,
    resolved,
    view,
    etab,
    overlaps,
    nodeFindings,
    trustFindings: !options.skipNodeData && process.getuid?.() === 0 ? trustFindings(options.configFile) : [],
    highWater,
    divergence,
    checkedCopies,
    lastScrub: history?.scrubs[SCOPE] ?? null,
    verified: options.full ? await readVerified(stateDir) : verified,
  }
}

/**
 * Whether the mount answers a stat, asked in a child process with a deadline: a ChironFS process
 * that died leaves the mount listed but answering "Transport endpoint is not connected", and one
 * that hangs would hang lnstore. Null when it answers; else why not.
 */
async function mountAnswers(deps: Deps, mountpoint: string, timeoutMs: number): Promise<string | null> {
  const result = await deps.runner.run(['stat', '-c', '%F', '--', mountpoint], {timeoutMs})
  if (result.timedOut) return `no answer within ${timeoutMs / 1000} s`
  return result.exitCode === 0 ? null : result.stderr.trim().replace(/^stat: /, '') || `stat exited with ${result.exitCode}`
}

/** The highest data_version lnstore has seen the node write through the mount (status and preflight record it); null when none is on record. */
export async function highWaterMark(stateDir: string, mountpoint: string, databasePath: string | null): Promise<number | null> {
  if (!databasePath) return null
  const state = await readFreshness(stateDir).catch(() => null)
  return state?.highWater[join(mountpoint, databasePath)]?.dataVersion ?? null
}
