import {mkdir} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {checkAndAlert} from '../alerts/check.js'
import {checkStatus} from '../status/check-status.js'
import {composeScrubMail, loadMailTemplates, type ComposedMail} from '../alerts/compose.js'
import {alertsConfigured} from '../alerts/smtp.js'
import type {Config} from '../config/schema.js'
import {describeScan} from '../status/render.js'
import type {PoolScrub, ScrubOptions, ScrubResult, StatusResult} from '../storage/view.js'
import {deviceKey, HistoryStore, type DeviceCounterChange, type ScrubRun} from '../state/history.js'
import {lock, LockHeldError} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {isLeaf, walkVdevs, type Pool} from '../zfs/status-model.js'
import {formatBytes, formatDuration} from '../storage/units.js'
import {Zpool, ZpoolError} from '../zfs/zpool.js'
import {findPool, followScrub, type ScrubEnd} from './follow.js'

/**
 * `lnstore scrub`: starts a scrub on each pool that is not already scrubbing or resilvering, and
 * with `wait` follows it to the end by polling `zpool status` (zfs-fuse and old OpenZFS have no
 * `zpool wait`), records the result in the history and runs the health check, which alerts.
 * A lock per pool keeps two lnstore runs from starting two scrubs.
 */

const DEFAULT_POLL = {firstMs: 250, maxMs: 5000}

/** `lnstore scrub` in mode zfs: scrub the pools, follow them with `wait`, then judge and alert as `status` does. */
export async function scrubAndCheck(deps: Deps, options: ScrubOptions): Promise<ScrubResult> {
  const pools = await scrubPools(deps, options)
  const followed = pools.filter((pool) => pool.state !== 'refused' && pool.state !== 'started' && pool.state !== 'abandoned')
  if (followed.length === 0) return {verdict: null, pools, status: null, error: null, alerts: null}
  const check = await checkAndAlert(deps, {
    config: options.config,
    stateDir: options.stateDir,
    pools: followed.map((pool) => pool.pool),
    log: options.log,
    check: () => checkStatus(deps, {config: options.config, stateDir: options.stateDir, pools: followed.map((pool) => pool.pool)}),
    extraMails: (status) => scrubSummaryMails(deps, options.config, followed, status),
  })
  return {verdict: check.status?.verdict ?? 'UNKNOWN', pools, status: check.status, error: check.error?.message ?? null, alerts: check.alerts}
}

export async function scrubPools(deps: Deps, options: ScrubOptions): Promise<PoolScrub[]> {
  const zpool = new Zpool(deps.runner)
  const names = options.pools.length > 0 ? options.pools : options.config.pools.length > 0 ? options.config.pools : (await zpool.capacity()).map((pool) => pool.name)
  await mkdir(options.stateDir, {recursive: true})
  // Started one after another (each check and start is quick), then followed together.
  const started: Promise<PoolScrub>[] = []
  for (const name of names) {
    const release = await lock(join(options.stateDir, `scrub-${name}.lock`), 0).catch((error: unknown) => {
      if (error instanceof LockHeldError) return null
      throw error
    })
    if (!release) {
      started.push(Promise.resolve({pool: name, state: 'refused', message: `another lnstore scrub is already following a scrub of ${name}; lnstore does not start a second one`}))
      continue
    }

    const outcome = await startScrub(deps, zpool, name, options).catch(async (error: unknown) => {
      await release()
      throw error
    })
    const {before, startedAt, ...scrub} = outcome
    started.push(before && options.wait ? follow(deps, zpool, name, startedAt, before, options).finally(release) : release().then(() => scrub))
  }

  return Promise.all(started)
}

/** Starts the scrub unless a scan runs; `before` (the reading before the start, for the counters) is set when it started. */
async function startScrub(deps: Deps, zpool: Zpool, name: string, options: ScrubOptions): Promise<PoolScrub & {startedAt: number; before?: Pool}> {
  const reading = await zpool.status([name])
  const pool = findPool(reading, name)
  // The counters before the scrub, as a history sample: errors the scrub finds then count as a burst.
  await new HistoryStore(options.stateDir).record(reading.report, deps.now(), options.config.health.historyDays).catch(() => {})
  const {scan} = pool
  const progress = describeScan(scan)
  const refuse = (message: string) => ({pool: name, state: 'refused' as const, message, startedAt: 0})
  if (scan.kind === 'resilver' && scan.state === 'in_progress') {
    return refuse(`${name} is resilvering (${progress}): lnstore neither starts a scrub over a resilver (it would slow it down) nor cancels one; scrub once \`zpool status ${name}\` shows it finished`)
  }

  if (scan.kind === 'scrub' && scan.state === 'in_progress') return refuse(`a scrub of ${name} is already running (${progress}); lnstore does not start a second one. Follow it with \`zpool status ${name}\``)
  const startedAt = deps.now()
  try {
    await zpool.scrub(name)
  } catch (error) {
    // Started by someone else between the check and the start.
    if (error instanceof ZpoolError && error.failure === 'busy') return refuse(`${error.message}; lnstore does not start a second scan`)
    throw error
  }

  options.log(`scrub of ${name} started`)
  return {pool: name, state: 'started', message: `scrub of ${name} started; \`zpool status ${name}\` shows how far it is`, startedAt, before: pool}
}

/** Follows the scrub started at `startedAt` to its end, and records it when it finished. */
async function follow(deps: Deps, zpool: Zpool, name: string, startedAt: number, before: Pool, options: ScrubOptions): Promise<PoolScrub> {
  let end: ScrubEnd
  try {
    end = await followScrub(zpool, name, startedAt, {now: deps.now, poll: options.poll ?? DEFAULT_POLL, onProgress: options.onProgress, signal: options.signal})
  } catch (error) {
    if (!(error instanceof Error && error.name === 'AbortError')) throw error
    return {pool: name, state: 'abandoned', message: `stopped following the scrub of ${name}; it goes on in ZFS, and the next health check reads its result`}
  }

  switch (end.state) {
    case 'finished':
      return finish(deps, name, startedAt, before, end.pool, options)
    case 'pool-gone':
      return {
        pool: name,
        state: end.state,
        message: `pool ${name} disappeared while lnstore followed its scrub (exported or destroyed?), so the scrub's result is unknown; once it is imported again (\`zpool import ${name}\`), scrub it again: lnstore scrub --pool ${name} --wait`,
      }
    case 'paused':
      return {pool: name, state: end.state, message: `the scrub of ${name} was paused (zpool scrub -p) before it finished; \`zpool scrub ${name}\` resumes it`}
    case 'canceled':
      return {pool: name, state: end.state, message: `the scrub of ${name} was stopped (zpool scrub -s) before it finished; its result is incomplete`}
    case 'preempted':
      return {pool: name, state: end.state, message: `a resilver of ${name} started (a device was replaced or came back) and took the scrub's place; scrub again once it finished: lnstore scrub --pool ${name} --wait`}
  }
}

async function finish(deps: Deps, name: string, startedAt: number, before: Pool, after: Pool, options: ScrubOptions): Promise<PoolScrub> {
  const {scan} = after
  const endedAt = Math.max(scan.endedAt ?? deps.now(), startedAt)
  const run: ScrubRun = {
    pool: name,
    startedAt,
    endedAt,
    durationSeconds: scan.durationSeconds ?? Math.round((endedAt - startedAt) / 1000),
    errors: scan.errors,
    ...(scan.repairedBytes === undefined ? {} : {repairedBytes: scan.repairedBytes}),
    devices: counterChanges(before, after),
  }
  let message = `scrub of ${name} finished in ${formatDuration(run.durationSeconds)}: repaired ${formatBytes(run.repairedBytes ?? 0)}, ${run.errors ?? 'unknown'} errors`
  if (run.devices.length > 0) message += `; errors grew on ${run.devices.map((device) => device.name).join(', ')}`
  try {
    await new HistoryStore(options.stateDir).recordScrub(run, deps.now())
  } catch (error) {
    message += ` (not recorded in the history: ${(error as Error).message})`
  }

  options.log(message)
  return {pool: name, state: 'finished', message, run}
}

/** How much each leaf's counters grew between two readings; a counter that went down was reset, so its new value counts. */
export function counterChanges(before: Pool, after: Pool): DeviceCounterChange[] {
  const previous = new Map([...walkVdevs(before.vdevs)].filter(isLeaf).map((vdev) => [deviceKey(before, vdev), vdev]))
  const changes: DeviceCounterChange[] = []
  for (const vdev of walkVdevs(after.vdevs)) {
    if (!isLeaf(vdev) || vdev.read === null || vdev.write === null || vdev.cksum === null) continue
    const old = previous.get(deviceKey(after, vdev))
    const reset = old && ((old.read ?? 0) > vdev.read || (old.write ?? 0) > vdev.write || (old.cksum ?? 0) > vdev.cksum)
    const grew = (key: 'read' | 'write' | 'cksum') => (old && !reset ? vdev[key]! - (old[key] ?? 0) : vdev[key]!)
    const change = {name: vdev.name, ...(vdev.guid ? {guid: vdev.guid} : {}), read: grew('read'), write: grew('write'), cksum: grew('cksum')}
    if (change.read + change.write + change.cksum > 0) changes.push(change)
  }

  return changes
}

/** The optional summary mail per finished scrub (alerts.scrubSummary: off, on-problems, always). */
async function scrubSummaryMails(deps: Deps, config: Config, scrubs: PoolScrub[], status: StatusResult | null): Promise<ComposedMail[]> {
  const mode = config.alerts.scrubSummary
  if (mode === 'off' || !alertsConfigured(config.alerts)) return []
  const verdictOf = (pool: string) => status?.pools.find((view) => view.name === pool)?.verdict ?? 'UNKNOWN'
  const wanted = scrubs.flatMap(({run}) => {
    if (!run) return []
    const problem = (run.errors ?? 0) > 0 || (run.repairedBytes ?? 0) > 0 || run.devices.length > 0 || verdictOf(run.pool) !== 'OK'
    return mode === 'always' || problem ? [run] : []
  })
  if (wanted.length === 0) return []
  const templates = await loadMailTemplates()
  const zpool = new Zpool(deps.runner)
  return Promise.all(
    wanted.map(async (run) =>
      composeScrubMail(run, {host: hostname(), now: deps.now(), verdict: verdictOf(run.pool), excerpt: await zpool.statusText(run.pool).catch(() => '')}, templates),
    ),
  )
}
