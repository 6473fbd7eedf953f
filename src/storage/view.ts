import type {AlertOutcome} from '../alerts/outbox.js'
import type {Config} from '../config/schema.js'
import type {ScrubRecord, ScrubRun} from '../state/history.js'
import type {ErrorRates} from '../zfs/error-rates.js'
import type {DataErrors, ScanInfo, Vdev} from '../zfs/status-model.js'
import type {StatusDialect} from '../zfs/zpool.js'
import type {Finding, Verdict} from './verdict.js'

/**
 * What `lnstore status` reports, whatever the storage: pools (in mode chironfs one "pool" of
 * replicas) of devices, each with its verdict and findings. Renderers, alerts, Prometheus and the
 * monitor read only this.
 */

/** A device as `zpool status` shows it (for ChironFS: a replica), with its verdict. */
export interface VdevView extends Omit<Vdev, 'children'> {
  /** Leaves only: the device's verdict, reasons and error rates. */
  verdict?: Verdict
  findings?: Finding[]
  rates?: ErrorRates | null
  children: VdevView[]
}

export interface PoolView {
  name: string
  /** What the operator calls it, in alerts: "pool tank", "the ChironFS replicas at /home/bitcoin/.lightning". */
  label: string
  state: string
  verdict: Verdict
  read: number | null
  write: number | null
  cksum: number | null
  scan: ScanInfo
  errors: DataErrors | null
  status?: string
  action?: string
  see?: string
  capacityPercent: number | null
  /** From `zpool list`, where it answered (not for saved input). */
  sizeBytes?: number
  allocatedBytes?: number
  lastScrub: ScrubRecord | null
  findings: Finding[]
  exactCounts: boolean
  warnings: string[]
  vdevs: VdevView[]
}

export interface StatusResult {
  verdict: Verdict
  /** Findings not tied to one pool (no pools imported, the data directory's mount, the history file). */
  findings: Finding[]
  pools: PoolView[]
  source: {from: 'zpool' | 'input' | 'chironfs'; dialect: StatusDialect | 'json' | 'text'; input?: string}
  /** When the output was read, epoch milliseconds. */
  checkedAt: number
}

export interface StatusOptions {
  config: Config
  stateDir: string
  /** Pools named on the command line; otherwise the config's, otherwise all. */
  pools: string[]
  /** Read saved `zpool status` output from this file (`-` is standard input) instead of running zpool. */
  input?: {name: string; read(): Promise<string>}
  /** The config file in use: as root, it must be root's alone, as lnstore itself (a WARNING otherwise). */
  configFile?: string | null
}

/** What `lnstore scrub` reports, whatever the storage: one entry per pool (in mode chironfs, the replicas). */
export type ScrubState = 'started' | 'finished' | 'refused' | 'canceled' | 'paused' | 'preempted' | 'pool-gone' | 'abandoned'

export interface PoolScrub {
  pool: string
  state: ScrubState
  /** What happened, in words; for refusals, why and what to do. */
  message: string
  /** The finished scrub, as recorded in the history. */
  run?: ScrubRun
}

export interface ScrubProgress {
  pool: string
  percent: number | null
  bytesPerSecond?: number
  secondsToGo?: number
}

export interface ScrubOptions {
  config: Config
  stateDir: string
  /** Pools named on the command line; otherwise the config's, otherwise every imported pool. */
  pools: string[]
  wait: boolean
  onProgress?: (progress: ScrubProgress) => void
  /** Stops following (the scrub itself goes on in ZFS). */
  signal?: AbortSignal
  log: (line: string) => void
  /** Poll delays: the first, doubling up to the last (ms). */
  poll?: {firstMs: number; maxMs: number}
}

export interface ScrubResult {
  /** The health verdict after the scrubs (null without `wait`, or when none was followed). */
  verdict: Verdict | null
  pools: PoolScrub[]
  status: StatusResult | null
  /** The health check's failure, when it could not read the pools afterwards. */
  error: string | null
  alerts: AlertOutcome | null
}
