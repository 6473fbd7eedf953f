import {existsSync} from 'node:fs'
import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import {findNodeDatabases, readDatabase, type DatabaseReading} from '../node/data-version.js'
import {hsmNodeId, hsmtoolProgram} from '../node/identity.js'
import {openRunStartFindings, readOpenRuns} from '../runbook/open-runs.js'
import {acknowledgeHistory, forgetDataVersion, readFreshness, recordDataVersion, reseedDataVersion, setAsideDamaged, type FreshnessState} from '../state/freshness.js'
import {CorruptStateError} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {storageBackend} from '../storage/load.js'
import {worst, type Finding, type Verdict} from '../storage/verdict.js'
import {discardingEvents, parsePoolHistory, type DiscardEvent} from '../zfs/pool-history.js'

/**
 * `lnstore preflight`: may the node start on this data? Only OK (or an allowed WARNING) says yes.
 * Data older than what the node last wrote is worse than no data: starting on it can broadcast a
 * revoked channel state, and the peer takes the channel.
 */

export interface PreflightResult {
  verdict: Verdict
  /** True when the node may start. */
  safe: boolean
  findings: Finding[]
  database: (DatabaseReading & {highWater: number | null}) | null
  backup: DatabaseReading | null
  /** Rollbacks and rewinds in the pool's history not yet acknowledged. */
  discarded: DiscardEvent[]
  /** lnstore's own record (state directory) is damaged. */
  recordDamaged: boolean
  /** Databases lnstore recorded that are gone now (the node would start over on an empty one). */
  missing: string[]
}

export interface PreflightOptions {
  config: Config
  stateDir: string
  /** Who runs it, for the record (`$SUDO_USER` or `$USER`). */
  by: string
}

export async function preflight(deps: Deps, options: PreflightOptions): Promise<PreflightResult> {
  const {config, stateDir} = options
  const findings: Finding[] = []
  let recordDamaged = false
  let missingDatabases: string[] = []
  const result = (database: PreflightResult['database'] = null, backup: DatabaseReading | null = null, discarded: DiscardEvent[] = []): PreflightResult => {
    const verdict = worst(findings.map((finding) => finding.verdict))
    return {verdict, safe: verdict === 'OK' || verdict === 'WARNING', findings, database, backup, discarded, recordDamaged, missing: missingDatabases}
  }

  const backend = await storageBackend(config)
  const missing = backend.missingSetup(config)
  if (missing.length > 0 || !config.dataDir) {
    findings.push({verdict: 'UNKNOWN', message: `lnstore is not set up for this node: the config names no ${missing.join(' and ')}`, next: 'lnstore init --help'})
    return result()
  }

  // A runbook that stopped the node or changed the storage and did not finish: only that run may start the node.
  findings.push(...openRunStartFindings(await readOpenRuns(stateDir)))
  const {dataDir} = config
  const gate = await backend.startGate(deps, config, stateDir)
  findings.push(...gate.findings)
  if (!gate.dataPresent) return result()

  let state: FreshnessState
  try {
    state = await readFreshness(stateDir)
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error
    recordDamaged = true
    findings.push({
      verdict: 'CRITICAL',
      message: `lnstore's record of the highest data_version seen is damaged (${error.message}): the database cannot be proven current`,
      next: "if you are sure the data is the newest the node wrote (check the node's logs and backups), accept it deliberately: lnstore preflight ack",
    })
    const databases = await findNodeDatabases(dataDir, config.node.network)
    return result(databases.main ? {...(await readDatabase(databases.main)), highWater: null} : null)
  }

  const discarded = gate.poolHistory ? await unacknowledgedDiscards(deps, gate.poolHistory, state, options, deps.now()) : []
  for (const event of discarded) {
    findings.push({
      verdict: 'CRITICAL',
      message: `${event.why} (${new Date(event.at).toISOString()}: ${event.command}): the node's data may be older than what it last wrote`,
      next: 'make sure the node data is the newest it wrote, then: lnstore preflight ack',
    })
  }

  const {network} = config.node
  const databases = await findNodeDatabases(dataDir, network)
  if (!databases.main) {
    const absent = await missingDatabaseFinding(dataDir, network, state)
    findings.push(absent.finding)
    missingDatabases = absent.recorded
    return result(null, null, discarded)
  }

  const main = await readDatabase(databases.main)
  const highWater = state.highWater[databases.main]?.dataVersion ?? null
  findings.push(...databaseFindings(main, highWater, gate.olderDataNext))
  // hsm_secret lives in the network folder even when wallet= puts the database elsewhere.
  findings.push(...(await identityFindings(deps, main, join(dataDir, network, 'hsm_secret'), hsmtoolProgram(config.node.hsmtool))))
  let backup: DatabaseReading | null = null
  if (databases.backup) {
    backup = await readDatabase(databases.backup)
    if (backup.check !== 'ok') findings.push({verdict: 'CRITICAL', message: `the backup database ${backup.path} fails SQLite's quick_check: ${backup.check}`})
    if (backup.dataVersion !== main.dataVersion) {
      findings.push({
        verdict: 'CRITICAL',
        message: `the node's two database copies disagree: ${main.path} has data_version ${main.dataVersion}, ${backup.path} has ${backup.dataVersion}`,
        next: 'find out which copy is current before starting the node (Core Lightning writes both on every change)',
      })
    }
  }

  if (main.check === 'ok' && main.dataVersion !== null && (highWater === null || main.dataVersion >= highWater)) {
    await recordDataVersion(stateDir, databases.main, main.dataVersion, deps.now(), `preflight (${options.by})`)
  }

  return result({...main, highWater}, backup, discarded)
}

/**
 * No database where the node will look for one. Core Lightning then silently creates an empty one
 * and starts over (its key index from 1: addresses handed out again, channels forgotten). Only a node
 * lnstore never saw a database of, in a data directory with no other network folder holding one, is
 * a brand-new node.
 */
async function missingDatabaseFinding(dataDir: string, network: string, state: FreshnessState): Promise<{finding: Finding; recorded: string[]}> {
  const inside = (path: string) => path.startsWith(`${dataDir}/`)
  const recorded = Object.entries(state.highWater).filter(([path]) => inside(path))
  const elsewhere = (await findNodeDatabases(dataDir)).main
  const networkDir = join(dataDir, network)
  const folderMissing = !existsSync(networkDir)
  if (recorded.length === 0 && !elsewhere) {
    return {finding: {verdict: 'OK', message: `no node database in ${networkDir} yet and none ever recorded: a brand-new node may start`}, recorded: []}
  }

  const [path, seen] = recorded[0] ?? []
  const what = folderMissing ? `the network folder ${networkDir} (node.network: ${network}) is missing` : `the node's database is missing from ${networkDir}`
  const why = seen ? `lnstore recorded ${path} at data_version ${seen.dataVersion} (${new Date(seen.seenAt).toISOString()}, ${seen.by})` : `a node database exists at ${elsewhere}, outside the folder the node will use`
  const finding: Finding = {
    verdict: 'CRITICAL',
    message: `${what}, but ${why}: the node would silently create an empty database and start over, handing out old addresses again and forgetting its channels`,
    next: `put the database back (${path ?? elsewhere}; a renamed folder, a backup), or set node.network to the folder the node uses; only for a deliberately new node on this hsm_secret: lnstore preflight ack`,
  }
  return {finding, recorded: recorded.map(([recordedPath]) => recordedPath)}
}

/** The database belongs to the node whose hsm_secret is beside it; refuses when that cannot be told. */
async function identityFindings(deps: Deps, reading: DatabaseReading, secret: string, hsmtool: string): Promise<Finding[]> {
  if (!reading.nodeId) return []
  const fromSecret = await hsmNodeId(deps, secret, hsmtool)
  if ('unknown' in fromSecret) {
    return [{verdict: 'CRITICAL', message: `cannot tell whether ${reading.path} belongs to this node's hsm_secret: ${fromSecret.unknown}`, next: 'put lightning-hsmtool (Core Lightning) on PATH or set node.hsmtool in the config to it, then: lnstore preflight'}]
  }

  if (fromSecret.id === reading.nodeId) return []
  return [
    {
      verdict: 'CRITICAL',
      message: `${reading.path} belongs to node ${reading.nodeId}, but ${secret} is the key of node ${fromSecret.id}: this is another node's database (or another node's hsm_secret)`,
      next: `put back this node's own database and hsm_secret; never start a node on another node's channel state`,
    },
  ]
}

/** `olderDataNext`: what to do about data older than the node wrote, where the storage knows better (ChironFS: heal from the newest replica). */
export function databaseFindings(reading: DatabaseReading, highWater: number | null, olderDataNext?: string): Finding[] {
  const findings: Finding[] = []
  if (reading.check !== 'ok') {
    findings.push({verdict: 'CRITICAL', message: `${reading.path} fails SQLite's quick_check: ${reading.check}`, next: 'do not start the node on it: restore the pool\'s data (zpool status -v) or ask for help'})
  }

  if (highWater !== null && (reading.dataVersion === null || reading.dataVersion < highWater)) {
    findings.push({
      verdict: 'CRITICAL',
      message: `${reading.path} has data_version ${reading.dataVersion}, but lnstore has seen ${highWater}: this data is OLDER than what the node last wrote (rolled back or replaced by an old copy); starting on it can lose the channels`,
      next: olderDataNext ?? 'put the newest copy of the database back (the renamed original, a backup); only if this one is truly the newest: lnstore preflight ack',
    })
  } else if (findings.length === 0) {
    findings.push({verdict: 'OK', message: `${reading.path}: data_version ${reading.dataVersion} (highest seen ${highWater ?? 'none yet'}), quick_check ok`})
  }

  return findings
}

/**
 * Rollbacks and rewinds since the operator last acknowledged the pool's history. The first look
 * at a pool sets the baseline: lnstore cannot judge what happened before it watched.
 */
async function unacknowledgedDiscards(deps: Deps, {pool, dataset}: {pool: string; dataset: string}, state: FreshnessState, options: PreflightOptions, now: number): Promise<DiscardEvent[]> {
  const history = (await runChecked(deps.runner, ['zpool', 'history', '-il', pool])).stdout
  const discards = discardingEvents(parsePoolHistory(history), dataset)
  const acknowledged = state.historyAcknowledged[pool]
  if (!acknowledged) {
    await acknowledgeHistory(options.stateDir, pool, now, `baseline (${options.by})`, now, [], discards.map(discardKey))
    return []
  }

  // zpool history counts in whole seconds: an event of the acknowledgement's own second came after
  // it unless the acknowledgement saw it (a rollback right after a check must not slip through).
  const seen = new Set(acknowledged.seen ?? [])
  const since = Math.floor(acknowledged.until / 1000) * 1000
  return discards.filter((event) => event.at > acknowledged.until || (event.at >= since && !seen.has(discardKey(event))))
}

const discardKey = (event: DiscardEvent) => `${event.at} ${event.command}`

/** In words, what `preflight ack` would accept on the operator's word. */
export function describeAcceptance(checked: PreflightResult): string[] {
  const lines = checked.discarded.map((event) => `${new Date(event.at).toISOString()} ${event.command} (${event.why})`)
  const {database} = checked
  if (checked.recordDamaged) lines.push("lnstore's damaged record of the highest data_version (it is replaced, and kept beside for inspection)")
  for (const path of checked.missing) lines.push(`${path} is missing: the node starts over with an empty database (lnstore forgets its record of it)`)
  if (database && database.highWater !== null && database.dataVersion !== null && database.dataVersion < database.highWater) {
    lines.push(`${database.path}: data_version ${database.dataVersion}, lower than the ${database.highWater} lnstore saw`)
  }

  return lines
}

/** Records the operator's acceptance: history acknowledged up to now, the high-water mark set to the database as it is. */
export async function acceptCurrentData(stateDir: string, pool: string, checked: PreflightResult, now: number, by: string): Promise<void> {
  const {database} = checked
  if (checked.recordDamaged) await setAsideDamaged(stateDir, now)
  for (const path of checked.missing) await forgetDataVersion(stateDir, path)
  if (database && database.dataVersion !== null && database.check === 'ok') {
    await reseedDataVersion(stateDir, database.path, database.dataVersion, now, `ack (${by})`)
  }

  await acknowledgeHistory(stateDir, pool, now, by, now, describeAcceptance(checked), checked.discarded.map(discardKey))
}
