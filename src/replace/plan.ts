import {access} from 'node:fs/promises'
import {basename} from 'node:path'

import {checkReplacement} from '../devices/checks.js'
import {gatherDeviceFacts} from '../devices/facts.js'
import {runShortSelfTest, type SelfTestOutcome} from '../devices/smart.js'
import {readDatabase, type DatabaseReading} from '../node/data-version.js'
import {nodeAdapter} from '../node/adapter.js'
import {downtimeSeconds, nodeSteps, type NodeRunContext} from '../node/steps.js'
import type {Step} from '../runbook/engine.js'
import {followScrub} from '../scrub/follow.js'
import {describeProgress} from '../scrub/progress.js'
import {appendEvent} from '../state/events.js'
import {recordDataVersion} from '../state/freshness.js'
import type {Deps} from '../system/deps.js'
import {CommandError, runChecked} from '../system/runner.js'
import {isLeaf, walkVdevs, type Pool, type Vdev} from '../zfs/status-model.js'
import {Zpool} from '../zfs/zpool.js'
import {freshnessProblem, htlcRisk, readHtlcs} from './freshness.js'

export type RestartMode = 'after-resilver' | 'after-replace'

/** Everything replace-disk decided up front, and what its steps recorded since; kept in the journal. */
export interface ReplaceContext extends NodeRunContext {
  pool: string
  /** The failing device as zpool names it. */
  failing: string
  /** Its path while it is attached, for clearing its labels afterwards; null when it is gone. */
  failingPath: string | null
  /** The new device as handed to zpool (its stable by-id name where there is one). */
  newDevice: string
  restart: RestartMode
  /** The new disk goes into the failing disk's slot: pause after the offline until it appears. */
  sameSlot: boolean
  /**
   * `zpool replace` with the failing disk still attached (no offline first): its copy stays readable
   * in the `replacing` vdev until the resilver ends. Set for every run planned without --same-slot;
   * absent in journals of runs planned before it, whose plans took the failing disk offline first
   * (their --resume and --abort must rebuild that plan, or the abort would leave the disk offline).
   */
  replaceAttached?: boolean
  /** For the new device's checks once it appears (--same-slot). */
  requiredBytes: number
  allowFiles: boolean
  force: boolean
  /** Run a SMART short self-test of the new disk before it takes the pool's data (when smartctl is installed). */
  selfTest: boolean
  /** The node's database, or null when the data directory has none. */
  database: string | null
  stateDir: string
  /** Recorded by the steps as they run. */
  freshness: {beforeStop?: DatabaseReading; atStop?: DatabaseReading; beforeStart?: DatabaseReading}
  resilverSeconds?: number
  selfTestOutcome?: SelfTestOutcome
  /** Stop the node although an in-flight HTLC expires within the downtime (--ignore-htlcs). */
  ignoreHtlcs?: boolean
  /** How long the node is expected to be down, for weighing HTLC expiries. */
  expectedDowntimeSeconds?: number
}

const POLL_MS = 500
/**
 * ZFS detaches the replaced disk a moment after the resilver ends (its async thread, seconds under
 * load): until then the `replacing` vdev still holds it, and a failing disk there shows the pool
 * DEGRADED. Waited for this long at most: a resilver that left blocks unrepaired keeps it attached,
 * and the pool check after says so.
 */
const DETACH_WAIT_MS = 60_000
/** The node may be down while replace-disk follows a scrub: it looks as often as it does for the resilver. */
const SCRUB_POLL = {firstMs: POLL_MS, maxMs: POLL_MS}
/** Why a scrub replace-disk follows did not finish, by how it ended. */
const SCRUB_STOPPED_SHORT = {canceled: 'was canceled', paused: 'was paused (zpool scrub -p)', preempted: 'gave way to a resilver', 'pool-gone': 'lost its pool (exported or destroyed?)'} as const
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The leaf named `name` in the pool (as zpool names it, by path or GUID), with its top-level vdev. */
export function findMember(pool: Pool, name: string): {leaf: Vdev; top: Vdev} | null {
  // zpool names disks by their entry in /dev or /dev/disk/by-id (sdb, ata-...), files by their path.
  const short = name.startsWith('/dev/') ? basename(name) : name
  for (const top of pool.vdevs) {
    for (const vdev of walkVdevs([top])) if (isLeaf(vdev) && [name, short].some((candidate) => vdev.name === candidate || vdev.path === candidate || vdev.guid === candidate)) return {leaf: vdev, top}
  }

  return null
}

/**
 * Whether the pool's last scan is a scrub that did not finish and was at work (started, paused or
 * canceled: zpool dates a canceled scrub by its cancel only) at or after `since`, in whole seconds
 * as zpool prints them.
 */
function scrubCutShortSince(scan: Pool['scan'], since: number): boolean {
  const lastSeen = Math.max(scan.startedAt ?? 0, scan.endedAt ?? 0, scan.pausedAt ?? 0)
  return scan.kind === 'scrub' && scan.state !== 'finished' && lastSeen >= Math.floor(since / 1000) * 1000
}

/** The steps of `lnstore replace-disk`, each safe to run twice, in the order the restart mode asks for. */
export function replaceSteps(deps: Deps, context: ReplaceContext): Step<ReplaceContext>[] {
  const zpool = new Zpool(deps.runner)
  const run = (argv: string[]) => runChecked(deps.runner, argv, {retryWhileBusy: true})
  const poolNow = async (ctx: ReplaceContext) => {
    const pool = (await zpool.status([ctx.pool])).report.pools[0]
    if (!pool) throw new Error(`pool ${ctx.pool} is not imported`)
    return pool
  }

  /** Scrubs the pool (or follows the scrub already running) to its end. */
  const scrubToEnd = async (ctx: ReplaceContext, report: (text: string) => void, running = false): Promise<Pool> => {
    const startedAt = deps.now()
    if (!running) await run(['zpool', 'scrub', ctx.pool])
    const end = await followScrub(zpool, ctx.pool, startedAt, {now: deps.now, poll: SCRUB_POLL, onProgress: (progress) => report(describeProgress(progress, 'scrub'))})
    if (end.state === 'finished') return end.pool
    throw new Error(`the scrub of ${ctx.pool} ${SCRUB_STOPPED_SHORT[end.state]} before it ended; run --resume to scrub again`)
  }

  const readDb = async (ctx: ReplaceContext): Promise<DatabaseReading | undefined> => (ctx.database ? readDatabase(ctx.database) : undefined)
  const checkData = async (ctx: ReplaceContext) => {
    const {atStop} = ctx.freshness
    const now = await readDb(ctx)
    if (!atStop || !now) return
    const problem = freshnessProblem(atStop, now)
    if (problem) throw new Error(`${problem}. The node stays stopped; the pool is as ZFS left it (zpool status ${ctx.pool})`)
    ctx.freshness.beforeStart = now
  }

  const node = nodeSteps(deps, context, {
    stopFailed: 'no disk was touched (the pool is as it was). Find out why the node does not stop',
    // An HTLC that expires while the node is down costs its channel: weighed before every stop, a resumed run's too.
    async beforeStop(ctx, report) {
      if (ctx.ignoreHtlcs) return
      const risk = await readHtlcs(nodeAdapter(deps, ctx.node)).then(
        ({channels, blockheight}) => htlcRisk(channels, blockheight, ctx.expectedDowntimeSeconds ?? 0),
        (error: Error) => ({level: 'warn' as const, message: `could not ask the node for in-flight HTLCs (${error.message})`}),
      )
      if (risk?.level === 'refuse') throw new Error(`${risk.message}. The node is still running; no disk was touched by this step (lnstore replace-disk --resume --ignore-htlcs goes ahead regardless)`)
      if (risk) report(`WARNING: ${risk.message}`)
    },
    async changedSinceStop(ctx) {
      const {atStop} = ctx.freshness
      const now = ctx.database ? await readDatabase(ctx.database, {quickCheck: false}).catch(() => undefined) : undefined
      if (!now || !atStop || now.dataVersion === atStop.dataVersion) return null
      return `the node's data_version is ${now.dataVersion} now, ${atStop.dataVersion} when lnstore stopped it (something ran the node meanwhile)`
    },
    // The node writes until it stops: what it holds now is what the restarted node must find.
    async afterStop(ctx, report) {
      const reading = await readDb(ctx)
      if (!reading) return
      // Done again after someone else ran the node: its data may only have moved forward since.
      const before = ctx.freshness.atStop
      if (before?.dataVersion != null && reading.dataVersion !== null && reading.dataVersion < before.dataVersion) {
        throw new Error(`${freshnessProblem(before, reading)}. The node stays stopped; the pool is as ZFS left it (zpool status ${ctx.pool})`)
      }

      ctx.freshness.atStop = reading
      // A check made before this stop (a resumed run stopping the node again) says nothing about now.
      delete ctx.freshness.beforeStart
      if (reading.dataVersion !== null) await recordDataVersion(ctx.stateDir, reading.path, reading.dataVersion, deps.now(), 'replace-disk')
      report(`node stopped; data_version ${reading.dataVersion ?? 'none'}`)
    },
    undoTitle: 'Start the node again (when its data is verified)',
    beforeUndoStart: checkData,
  })

  const steps: Record<string, Step<ReplaceContext>> = {
    selfTest: {
      id: 'self-test',
      title: `SMART short self-test of ${context.newDevice}`,
      commands: context.selfTest ? [['smartctl', '-t', 'short', context.newDevice]] : [],
      detail: context.selfTest ? 'about 2 minutes; skipped when smartctl is not installed or the device has no SMART self-test' : 'skipped (--skip-self-test)',
      async run(ctx, report) {
        if (!ctx.selfTest) return report('skipped (--skip-self-test)')
        // A test that already ran (this step is repeated on --resume) is not repeated: its verdict stands.
        ctx.selfTestOutcome ??= await runShortSelfTest(deps, ctx.newDevice, report)
        const {result, detail} = ctx.selfTestOutcome
        if (result === 'failed') {
          throw new Error(`${ctx.newDevice} failed its SMART short self-test (${detail}); the pool is untouched${ctx.sameSlot ? ` but ${ctx.failing} is offline` : ''}. Use another disk: lnstore replace-disk --abort, then run it again with a good one`)
        }

        report(result === 'passed' ? `passed: ${detail}` : `skipped: ${detail}`)
      },
    },
    record: {
      id: 'record',
      title: "Record the node's data_version and check its database",
      commands: [],
      detail: `read data_version and PRAGMA quick_check from ${context.database ?? '(no database)'}, read-only`,
      async run(ctx, report) {
        const reading = await readDb(ctx)
        if (!reading) {
          report('no node database in the data directory: nothing to compare after the replace')
          return
        }

        if (reading.check !== 'ok') throw new Error(`${reading.path} fails quick_check before anything was touched (${reading.check}): find out why first`)
        ctx.freshness.beforeStop = reading
        if (reading.dataVersion !== null) await recordDataVersion(ctx.stateDir, reading.path, reading.dataVersion, deps.now(), 'replace-disk')
        report(`data_version ${reading.dataVersion ?? 'none'}, quick_check ok`)
      },
    },
    stop: node.stop,
    offline: {
      id: 'offline',
      title: `Take ${context.failing} offline`,
      commands: [['zpool', 'offline', context.pool, context.failing]],
      effect: 'changes-pool',
      heldUntil: 'replace',
      async holds(ctx) {
        const member = findMember(await poolNow(ctx), ctx.failing)
        return member?.leaf.state === 'ONLINE' ? `${ctx.failing} is ONLINE again (brought back by someone else)` : null
      },
      async run(ctx, report) {
        const member = findMember(await poolNow(ctx), ctx.failing)
        if (!member) return report(`${ctx.failing} is no longer in the pool`)
        if (['OFFLINE', 'UNAVAIL', 'REMOVED', 'FAULTED'].includes(member.leaf.state ?? '')) return report(`${ctx.failing} is already ${member.leaf.state}`)
        await run(['zpool', 'offline', ctx.pool, ctx.failing])
      },
      undo: {
        title: `Bring ${context.failing} back online`,
        commands: [['zpool', 'online', context.pool, context.failing]],
        async run(ctx) {
          const member = findMember(await poolNow(ctx), ctx.failing)
          if (member?.leaf.state !== 'OFFLINE') return
          const result = await deps.runner.run(['zpool', 'online', ctx.pool, ctx.failing])
          // A resilver that ends meanwhile detaches the old device: then there is nothing to bring back.
          if (result.exitCode !== 0 && findMember(await poolNow(ctx), ctx.failing)) throw new CommandError(result)
        },
      },
    },
    swap: {
      id: 'swap',
      title: `Swap the disks: pull ${context.failingPath ?? context.failing}, insert the new one in its slot`,
      commands: [],
      detail: `wait until ${context.newDevice} appears, then check it as before`,
      async run(ctx, report) {
        report(`pull ${ctx.failingPath ?? ctx.failing} now and insert the new disk in its slot; waiting for ${ctx.newDevice} to appear (Ctrl-C and --resume to continue later)`)
        while (!(await access(ctx.newDevice).then(() => true, () => false))) await sleep(POLL_MS)
        const pools = (await zpool.status()).report
        const [facts] = await gatherDeviceFacts(deps, [ctx.newDevice], pools)
        const refusals = checkReplacement(facts, ctx.requiredBytes, ctx)
        if (refusals.length > 0) throw new Error(`${ctx.newDevice} cannot be used: ${refusals.map((refusal) => `${refusal.reason} (${refusal.wayOut})`).join('; ')}`)
      },
    },
    replace: {
      id: 'replace',
      title: `Replace ${context.failing} with ${context.newDevice}`,
      commands: [['zpool', 'replace', context.pool, context.failing, context.newDevice]],
      effect: 'changes-pool',
      async run(ctx, report) {
        if (findMember(await poolNow(ctx), ctx.newDevice)) return report(`${ctx.newDevice} is already in the pool`)
        await run(['zpool', 'replace', ctx.pool, ctx.failing, ctx.newDevice])
      },
    },
    resilver: {
      id: 'resilver',
      title: `Resilver ${context.newDevice}`,
      commands: [['zpool', 'status', context.pool]],
      detail: 'poll zpool status until the resilver has finished',
      async run(ctx, report) {
        const started = deps.now()
        let pool: Pool
        for (;;) {
          pool = await poolNow(ctx)
          const fresh = findMember(pool, ctx.newDevice)
          if (fresh && ['FAULTED', 'UNAVAIL', 'REMOVED'].includes(fresh.leaf.state ?? '')) {
            throw new Error(`the new device ${ctx.newDevice} is ${fresh.leaf.state} during the resilver; the pool keeps the data on its other devices. Replace it with another disk (zpool status -v ${ctx.pool})`)
          }

          const {scan} = pool
          // Just after the replace, status may still show the last scrub: the replacing vdev says a resilver is due.
          const replacing = [...walkVdevs(pool.vdevs)].some((vdev) => vdev.name.startsWith('replacing'))
          if (!(scan.kind === 'resilver' && scan.state === 'in_progress') && !(replacing && scan.kind !== 'resilver')) break
          report(scan.kind === 'resilver' ? describeProgress({pool: ctx.pool, percent: scan.percent, bytesPerSecond: scan.bytesPerSecond, secondsToGo: scan.secondsToGo}, 'resilver') : `${ctx.pool}: waiting for the resilver to start`)
          await sleep(POLL_MS)
        }

        ctx.resilverSeconds ??= (deps.now() - started) / 1000
        // After the replace the failing disk is listed only inside the `replacing` vdev, until detached.
        const detachBy = deps.now() + DETACH_WAIT_MS
        while (findMember(pool, ctx.failing) && deps.now() < detachBy) {
          report(`${ctx.pool}: resilver done, waiting for ZFS to detach ${ctx.failing}`)
          await sleep(POLL_MS)
          pool = await poolNow(ctx)
        }
      },
    },
    verifyData: {
      id: 'verify-data',
      title: 'Verify the data the node will start on (data_version unchanged, quick_check ok)',
      commands: [],
      detail: `read data_version and PRAGMA quick_check from ${context.database ?? '(no database)'}; refuse to go on unless it is what the node last wrote`,
      run: (ctx) => checkData(ctx),
    },
    verifyPool: {
      id: 'verify-pool',
      title: `Verify ${context.pool} (ONLINE, no new errors)`,
      commands: [['zpool', 'status', context.pool]],
      detail: `if the only errors are checksum errors on ${context.newDevice} that ZFS repaired (blocks a resilver wrote before an interruption, e.g. a power cut): zpool clear ${context.pool} ${context.newDevice}, zpool scrub ${context.pool} to its end, and look again`,
      async run(ctx, report, {firstStartedAt}) {
        let pool = await poolNow(ctx)
        const {scan} = pool
        if (onlyRepairedChecksumsOn(pool, ctx.newDevice, ctx.failing)) {
          // A resilver cut short (a power cut, a kill) leaves blocks on the new disk that fail their
          // checksum until ZFS rewrites them from the other side: repaired, not a bad disk. Only a
          // scrub that reads every copy proves that; without it --resume would refuse forever.
          report(`${ctx.newDevice} has checksum errors that ZFS repaired (the resilver was interrupted): clearing them and scrubbing ${ctx.pool} to prove every copy`)
          await run(['zpool', 'clear', ctx.pool, ctx.newDevice])
          pool = await scrubToEnd(ctx, report)
        } else if (scrubCutShortSince(scan, firstStartedAt)) {
          // An earlier try of this step cleared those errors and its scrub did not end (a kill, a
          // pause, a cancel): the counters prove nothing now, only a scrub to its end does.
          report(`the scrub this step began on ${ctx.pool} did not end (${scan.state}): scrubbing to the end to prove every copy`)
          pool = await scrubToEnd(ctx, report, scan.state === 'in_progress')
        }

        const errors = erringLeaves(pool, ctx.failing)
        if (pool.state !== 'ONLINE' || errors.length > 0 || (pool.errors?.count ?? 0) > 0) {
          const detail = errors.map((vdev) => `${vdev.name} ${vdev.read}/${vdev.write}/${vdev.cksum} read/write/checksum errors`).join('; ')
          throw new Error(`${ctx.pool} is ${pool.state}${detail ? `: ${detail}` : ''}${pool.errors?.count ? `; ${pool.errors.count} data errors` : ''}. See zpool status -v ${ctx.pool}`)
        }

        report(`${ctx.pool} ONLINE, no errors`)
      },
    },
    clear: {
      id: 'clear',
      title: `Clear ${context.pool}'s error counters`,
      commands: [['zpool', 'clear', context.pool]],
      run: async (ctx) => {
        await run(['zpool', 'clear', ctx.pool])
      },
    },
    start: node.start,
    report: {
      id: 'report',
      title: "Record the replacement in lnstore's history",
      commands: [],
      detail: `append a "disk-replaced" event to ${context.stateDir}/events.json`,
      async run(ctx) {
        await appendEvent(ctx.stateDir, {
          at: deps.now(),
          kind: 'disk-replaced',
          pool: ctx.pool,
          detail: {failing: ctx.failing, newDevice: ctx.newDevice, restart: ctx.restart, downtimeSeconds: downtimeSeconds(ctx), dataVersion: ctx.freshness.atStop?.dataVersion ?? null, selfTest: ctx.selfTestOutcome ?? null},
        })
      },
    },
  }

  // The self-test runs while the node still runs, unless the new disk only appears after the swap.
  // A new disk in another slot is replaced in beside the failing one, which keeps serving its copy.
  const [first, replace] = context.sameSlot ? [[], ['offline', 'swap', 'selfTest', 'replace']] : [['selfTest'], context.replaceAttached ? ['replace'] : ['offline', 'replace']]
  const order =
    context.restart === 'after-replace'
      ? [...first, 'record', 'stop', ...replace, 'verifyData', 'start', 'resilver', 'verifyPool', 'clear', 'report']
      : [...first, 'record', 'stop', ...replace, 'resilver', 'verifyPool', 'verifyData', 'clear', 'start', 'report']
  return order.map((key) => steps[key])
}

/** The devices of the pool with read, write or checksum errors, but the failing one (still listed while it detaches). */
function erringLeaves(pool: Pool, failing: string): Vdev[] {
  return [...walkVdevs(pool.vdevs)].filter((vdev) => vdev.name !== failing && isLeaf(vdev) && (vdev.read || vdev.write || vdev.cksum))
}

/**
 * Whether the pool's only errors are checksum errors on the new device that ZFS repaired: the pool
 * ONLINE, no data errors, no read or write errors anywhere, no other device erring. The failing
 * device (still listed while it detaches) does not count.
 */
export function onlyRepairedChecksumsOn(pool: Pool, newDevice: string, failing: string): boolean {
  const fresh = findMember(pool, newDevice)?.leaf
  if (!fresh || pool.state !== 'ONLINE' || (pool.errors?.count ?? 0) > 0) return false
  const erring = erringLeaves(pool, failing)
  return erring.length === 1 && erring[0] === fresh && !fresh.read && !fresh.write
}

/** One line on everything a replace touches: the pool, the two devices, the node. For failure and abort messages. */
export async function describeReplaceState(deps: Deps, ctx: ReplaceContext): Promise<string> {
  const pool = (await new Zpool(deps.runner).status([ctx.pool]).catch(() => null))?.report.pools[0]
  const device = (name: string) => {
    const member = pool ? findMember(pool, name) : null
    return `${name} ${member ? (member.leaf.state ?? 'state unknown') : 'not in the pool'}`
  }

  const poolLine = pool ? `pool ${ctx.pool} ${pool.state}${pool.scan.state === 'in_progress' ? ` (${pool.scan.kind} ${pool.scan.percent ?? '?'}%)` : ''}; ${device(ctx.failing)}; ${device(ctx.newDevice)}` : `pool ${ctx.pool} not imported`
  const running = await nodeAdapter(deps, ctx.node).isRunning().catch(() => null)
  return `${poolLine}; the node is ${running === null ? 'in an unknown state' : running ? 'running' : 'stopped'}`
}
