import type {Config} from '../config/schema.js'
import {findNodeDatabases, readDatabase} from '../node/data-version.js'
import {readFreshness, recordDataVersion} from '../state/freshness.js'
import type {Deps} from '../system/deps.js'

/**
 * `lnstore preflight record`: the node's last write, recorded off the pool when the node stops
 * (systemd's ExecStopPost= from `preflight install`; an equivalent line in a cron or commands
 * setup). Without it the gate knows only what lnstore happened to read: a copy taken earlier and put
 * back after the node wrote more would pass.
 */
export interface RecordResult {
  database: string | null
  dataVersion: number | null
  /** The highest data_version lnstore had seen before. */
  previous: number | null
  /** The database holds less than lnstore saw before: left unrecorded (preflight will refuse it). */
  wentBackwards: boolean
}

export async function recordLastWrite(deps: Deps, config: Config, stateDir: string, by: string): Promise<RecordResult> {
  if (!config.dataDir) throw new Error('lnstore is not set up for this node: the config names no dataDir (see lnstore init)')
  const {main} = await findNodeDatabases(config.dataDir, config.node.network)
  if (!main) return {database: null, dataVersion: null, previous: null, wentBackwards: false}
  const previous = (await readFreshness(stateDir)).highWater[main]?.dataVersion ?? null
  const {dataVersion} = await readDatabase(main, {quickCheck: false})
  const wentBackwards = dataVersion !== null && previous !== null && dataVersion < previous
  if (dataVersion !== null && !wentBackwards) await recordDataVersion(stateDir, main, dataVersion, deps.now(), `node stop (${by})`)
  return {database: main, dataVersion, previous, wentBackwards}
}
