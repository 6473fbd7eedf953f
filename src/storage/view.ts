import type {ScrubRecord} from '../state/history.js'
import type {ErrorRates} from '../zfs/error-rates.js'
import type {DataErrors, ScanInfo, VdevRole} from '../zfs/status-model.js'
import type {StatusDialect} from '../zfs/zpool.js'
import type {Finding, Verdict} from './verdict.js'

/**
 * What `lnstore status` reports, whatever the storage: pools (in mode chironfs one "pool" of
 * replicas) of devices, each with its verdict and findings. Renderers, alerts, Prometheus and the
 * monitor read only this.
 */

export interface VdevView {
  name: string
  state: string | null
  read: number | null
  write: number | null
  cksum: number | null
  role: VdevRole
  notes: string[]
  guid?: string
  path?: string
  /** Leaves only: the device's verdict, reasons and error rates. */
  verdict?: Verdict
  findings?: Finding[]
  rates?: ErrorRates | null
  children: VdevView[]
}

export interface PoolView {
  name: string
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
