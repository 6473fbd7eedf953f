import {EMPTY_HISTORY, HistoryStore, type History} from '../state/history.js'
import type {Deps} from '../system/deps.js'
import {evaluateHealth, type DeviceHealth, type PoolHealth} from '../zfs/health.js'
import type {Finding} from '../storage/verdict.js'
import type {PoolView, StatusOptions, StatusResult, VdevView} from '../storage/view.js'
import {observeNodeData} from '../node/observe.js'
import {openRunFindings, readOpenRuns} from '../runbook/open-runs.js'
import {checkDataDirMount, parseMountInfo} from '../storage/mounts.js'
import {trustFindings} from '../system/trust.js'
import {parseStatus} from '../zfs/status-json.js'
import {poolCannotDoIo, type Pool, type StatusReport, type Vdev} from '../zfs/status-model.js'
import {fileDialectCache} from '../zfs/dialect-cache.js'
import {Zpool, ZpoolError, type PoolCapacity, type StatusReading} from '../zfs/zpool.js'

/** `lnstore status` in mode zfs (and of saved `zpool status` output): read the pools, record the counters, judge them. */
export async function checkStatus(deps: Deps, options: StatusOptions): Promise<StatusResult> {
  // An unfinished runbook (a replace killed with the node stopped) is reported first, whatever the pools say.
  const openRuns = options.input ? [] : await readOpenRuns(options.stateDir)
  const now = deps.now()
  const pools = options.pools.length > 0 ? options.pools : options.config.pools
  const findings: Finding[] = openRunFindings(openRuns)
  let report: StatusReport
  let capacity: PoolCapacity[] | null = null
  let history: History = EMPTY_HISTORY
  let source: StatusResult['source']

  if (options.input) {
    // Output from another machine (or another time): judge it as it is, without this machine's history.
    report = selectPools(parseStatus(await options.input.read(), now), pools)
    source = {from: 'input', dialect: report.dialect, input: options.input.name}
  } else {
    const zpool = new Zpool(deps.runner, 'zpool', fileDialectCache(options.stateDir))
    let reading: StatusReading
    try {
      ;[reading, capacity] = await Promise.all([zpool.status(pools), zpool.capacity(pools)])
    } catch (error) {
      // Pools named on the command line must exist (a typo is UNKNOWN); the config's pools are the
      // ones the node lives on, so one that is not imported is a finding, and the checks go on.
      if (options.pools.length > 0 || !(error instanceof ZpoolError && error.failure === 'no-such-pool')) throw error
      const present = await importedOf(zpool, pools, findings)
      ;[reading, capacity] =
        present.length === 0 ? [{output: '', dialect: 'text', report: {pools: [], allHealthy: false, dialect: 'text'}}, []] : await Promise.all([zpool.status(present), zpool.capacity(present)])
    }

    report = reading.report
    source = {from: 'zpool', dialect: reading.dialect}
    history = await recordHistory(options, report, now, findings)
    if (process.getuid?.() === 0) findings.push(...trustFindings(options.configFile))
    if (options.config.dataDir && options.config.dataset) {
      const mount = checkDataDirMount(parseMountInfo(await deps.readFile('/proc/self/mountinfo')), options.config.dataDir, options.config.dataset)
      if (mount) findings.push(mount)
      // Only the mounted dataset holds the node's real data: a leftover directory proves nothing.
      // On a pool that cannot do I/O (SUSPENDED: failmode=wait blocks every read that misses the
      // cache, for ever, and the node hung mid-commit holds SQLite's lock) the pool's verdict says it all.
      else if (!cannotDoIo(report, options.config.dataset)) findings.push(...(await observeNodeData(options.config.dataDir, options.stateDir, now, 'status')))
    }
  }

  const replacing = openRuns.flatMap((run) => (run.pool && run.device ? [{pool: run.pool, device: run.device, command: run.command}] : []))
  const health = evaluateHealth({report, capacity, history, config: options.config.health, now, extraFindings: findings, replacing})
  return {
    verdict: health.verdict,
    findings: health.findings,
    pools: report.pools.map((pool, index) => poolView(pool, health.pools[index], capacity?.find((entry) => entry.name === pool.name))),
    source,
    checkedAt: now,
  }
}

/** The dataset's pool cannot do I/O: reading files on it may block in the kernel or fail. */
function cannotDoIo(report: StatusReport, dataset: string): boolean {
  const pool = report.pools.find((candidate) => candidate.name === dataset.split('/')[0])
  return pool !== undefined && poolCannotDoIo(pool)
}

/** The configured pools that are imported; one that is not is CRITICAL, with the command that brings it back. */
async function importedOf(zpool: Zpool, configured: string[], findings: Finding[]): Promise<string[]> {
  const imported = new Set((await zpool.capacity()).map((pool) => pool.name))
  for (const name of configured.filter((pool) => !imported.has(pool))) {
    findings.push({
      verdict: 'CRITICAL',
      message: `pool ${name} (in the config) is not imported: the node's data on it is neither reachable nor protected`,
      next: `zpool import ${name}   (if \`zpool import\` does not list it, its disks are missing: check cables and power)`,
    })
  }

  return configured.filter((pool) => imported.has(pool))
}

/** Keeps the named pools; a name that is not in the output is an error, not a silent pass. */
function selectPools(report: StatusReport, names: string[]): StatusReport {
  if (names.length === 0) return report
  const missing = names.filter((name) => !report.pools.some((pool) => pool.name === name))
  if (missing.length > 0) throw new Error(`no pool named ${missing.join(', ')} in the input (it has: ${report.pools.map((pool) => pool.name).join(', ') || 'none'})`)
  return {...report, pools: report.pools.filter((pool) => names.includes(pool.name))}
}

async function recordHistory(options: StatusOptions, report: StatusReport, now: number, findings: Finding[]): Promise<History> {
  const store = new HistoryStore(options.stateDir)
  try {
    const history = await store.record(report, now, options.config.health.historyDays)
    if (store.recoveredFrom) {
      findings.push({verdict: 'WARNING', message: `the error history was damaged and has been moved to ${store.recoveredFrom}; error rates start afresh`})
    }

    return history
  } catch (error) {
    findings.push({
      verdict: 'WARNING',
      message: `cannot record the error history in ${options.stateDir} (${(error as Error).message}); error rates are unavailable`,
      next: 'run as root, or set stateDir in the config (or LNSTORE_STATE_DIR) to a writable directory',
    })
    return store.read().catch(() => EMPTY_HISTORY)
  }
}

function poolView(pool: Pool, health: PoolHealth, capacity: PoolCapacity | undefined): PoolView {
  const {name, state, read, write, cksum, scan, errors, status, action, see, exactCounts, warnings} = pool
  return {
    name,
    label: `pool ${name}`,
    state,
    verdict: health.verdict,
    read,
    write,
    cksum,
    scan,
    errors,
    ...(status === undefined ? {} : {status}),
    ...(action === undefined ? {} : {action}),
    ...(see === undefined ? {} : {see}),
    capacityPercent: health.capacityPercent,
    ...(capacity?.sizeBytes == null ? {} : {sizeBytes: capacity.sizeBytes}),
    ...(capacity?.allocatedBytes == null ? {} : {allocatedBytes: capacity.allocatedBytes}),
    lastScrub: health.lastScrub,
    findings: health.findings,
    exactCounts,
    warnings,
    vdevs: pool.vdevs.map((vdev) => vdevView(vdev, health.devices)),
  }
}

function vdevView(vdev: Vdev, devices: Map<Vdev, DeviceHealth>): VdevView {
  const {children, ...fields} = vdev
  const device = devices.get(vdev)
  return {
    ...fields,
    ...(device ? {verdict: device.verdict, findings: device.findings, rates: device.rates} : {}),
    children: children.map((child) => vdevView(child, devices)),
  }
}
