import type {Config} from '../config/schema.js'
import type {Sandbox} from '../schedule/hardening.js'
import type {Deps} from '../system/deps.js'
import type {Finding, Verdict} from './verdict.js'
import type {PoolView, ScrubOptions, ScrubResult, StatusOptions, StatusResult} from './view.js'

/**
 * What holds the node data: ZFS pools (mode zfs) or ChironFS replicas (mode chironfs, for small
 * boards). Commands, the monitor, alerts and the start gate ask the backend of the config's mode;
 * none of them asks which mode it is (storage/load.ts alone knows).
 */
export interface StorageBackend {
  /** The config settings this backend needs before it can judge anything ("dataDir", "dataset"). */
  missingSetup(config: Config): string[]
  /** The scope the start gate's acknowledgements are kept under. */
  scope(config: Config): string
  status(deps: Deps, options: StatusOptions): Promise<StatusResult>
  scrub(deps: Deps, options: ScrubOptions): Promise<ScrubResult>
  /** What the start gate says of the storage before it reads the node's data. */
  startGate(deps: Deps, config: Config, stateDir: string): Promise<StartGate>
  /** What the units `schedule install` writes may touch and which privileges they keep, for this storage. */
  sandbox(config: Config, stateDir: string): Sandbox
  /** How `status` draws one of this backend's pools; the ZFS tree when absent. */
  renderPool?: (pool: PoolView, paint: (verdict: Verdict, text: string) => string, now: number) => string[]
  /** The runbooks this storage has no use for, with why and what to run instead. */
  readonly unsupported: Partial<Record<RunbookKind, {reason: string; next: string}>>
}

export type RunbookKind = 'replace-disk' | 'heal'

export interface StartGate {
  findings: Finding[]
  /** False when the data directory does not hold this storage's data: reading it would prove nothing. */
  dataPresent: boolean
  /** The pool whose history may record rollbacks and rewinds of the dataset; null where there is none. */
  poolHistory: {pool: string; dataset: string} | null
  /** What to run about node data older than it last wrote, where this storage knows better than restoring a copy (ChironFS: heal from the newest replica). */
  olderDataNext?: string
}
