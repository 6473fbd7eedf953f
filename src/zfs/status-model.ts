/**
 * The typed model of `zpool status` output. Text (every dialect) and OpenZFS 2.3's JSON are both
 * read into this one shape, so health rules never care which dialect printed it.
 */

/** The config section a vdev sits in. `data` is the pool's main tree. */
export type VdevRole = 'data' | 'log' | 'cache' | 'spare' | 'special' | 'dedup'

export type ScanKind = 'scrub' | 'resilver'
export type ScanState = 'in_progress' | 'finished' | 'canceled' | 'paused'

export interface Vdev {
  name: string
  /** As printed: ONLINE, DEGRADED, FAULTED, OFFLINE, UNAVAIL, REMOVED, AVAIL, INUSE ... (null when none printed). */
  state: string | null
  /** Error counters; null where the output shows none (spares, `zpool import` listings). */
  read: number | null
  write: number | null
  cksum: number | null
  role: VdevRole
  /** Trailing notes as printed: `(resilvering)`, `was /dev/sdb1`, `too many errors`, `35.1M repaired` ... */
  notes: string[]
  children: Vdev[]
  /** The vdev's GUID where the output carries one (JSON, or `zpool status -g` zipped in). */
  guid?: string
  /** Device path where known (JSON `path`, or the name itself when it is an absolute path). */
  path?: string
}

export interface ScanInfo {
  kind: ScanKind | null
  state: ScanState | null
  percent: number | null
  /** Errors the scan reported (finished scans), else null. */
  errors: number | null
  scannedBytes?: number
  issuedBytes?: number
  totalBytes?: number
  /** Bytes repaired (scrub) or resilvered (resilver) so far or in total. */
  repairedBytes?: number
  bytesPerSecond?: number
  secondsToGo?: number
  durationSeconds?: number
  /** Epoch milliseconds, read as the local time of the machine reading them (zpool prints no zone). */
  startedAt?: number
  endedAt?: number
  pausedAt?: number
  /** The scan text as printed, continuation lines joined with `\n`. */
  raw: string
}

export interface DataErrors {
  /** Number of permanent data errors; the file list length when listed, 0 for "No known data errors". */
  count: number | null
  files: string[]
  raw: string
}

export interface Pool {
  name: string
  id?: string
  guid?: string
  /** As printed, except SUSPENDED (see `markSuspended`). */
  state: string
  /** The state zpool printed for a pool lnstore calls SUSPENDED. */
  printedState?: string
  status?: string
  action?: string
  see?: string
  scan: ScanInfo
  remove?: string
  checkpoint?: string
  expand?: string
  errors: DataErrors | null
  /** Counters of the pool's root row. */
  read: number | null
  write: number | null
  cksum: number | null
  vdevs: Vdev[]
  /** False when any counter was printed abbreviated (`1.2K`), so it is approximate. */
  exactCounts: boolean
  /** False when the output ended before the pool was complete (truncated input). */
  complete: boolean
  /** Lines the reader kept but did not understand. */
  warnings: string[]
}

export interface StatusReport {
  pools: Pool[]
  /** `zpool status -x` printed "all pools are healthy" (or "pool 'x' is healthy"). */
  allHealthy: boolean
  dialect: 'json' | 'text'
}

export const EMPTY_SCAN: ScanInfo = {kind: null, state: null, percent: null, errors: null, raw: ''}

/** Depth-first walk over a vdev tree, parents before children. */
export function* walkVdevs(vdevs: Vdev[]): Generator<Vdev> {
  for (const vdev of vdevs) {
    yield vdev
    yield* walkVdevs(vdev.children)
  }
}

/** The pool cannot do I/O (SUSPENDED, FAULTED, UNAVAIL): reading files on it may block in the kernel or fail. */
export function poolCannotDoIo(pool: Pool): boolean {
  return pool.state === 'SUSPENDED' || pool.state === 'FAULTED' || pool.state === 'UNAVAIL'
}

/** A leaf is an actual device (disk, partition or file); interior nodes are mirror, raidz, replacing ... */
export function isLeaf(vdev: Vdev): boolean {
  return vdev.children.length === 0
}

/**
 * `zpool status` prints a suspended pool's root vdev state (UNAVAIL, even ONLINE); only its status
 * text, its message ID and the error list say that ZFS stopped all I/O. `zpool list` (libzfs's
 * zpool_get_state_str) names that state SUSPENDED, and so does lnstore: the readers call this.
 */
export function markSuspended(pool: Pool): void {
  const said = [pool.status ?? '', pool.errors?.raw ?? '', ...(pool.errors?.files ?? [])].join('\n')
  const suspended =
    /in response to IO failures|I\/O is currently suspended|pool is suspended/i.test(said) || /ZFS-8000-(HC|JQ)\b/.test(pool.see ?? '')
  if (suspended && pool.state !== 'SUSPENDED') Object.assign(pool, {printedState: pool.state, state: 'SUSPENDED'})
}
