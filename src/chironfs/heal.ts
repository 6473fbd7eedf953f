import {lstat, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {compareTrees, describeTree, mirrorTree} from '../init/copy-tree.js'
import type {DatabaseReading} from '../node/data-version.js'
import {downtimeSeconds, nodeSteps, type NodeRunContext} from '../node/steps.js'
import {freshnessProblem} from '../replace/freshness.js'
import type {Step} from '../runbook/engine.js'
import {appendEvent} from '../state/events.js'
import {HistoryStore} from '../state/history.js'
import {recordDataVersion} from '../state/freshness.js'
import type {Deps} from '../system/deps.js'
import {CommandError, runChecked} from '../system/runner.js'
import {parseMountInfo} from '../storage/mounts.js'
import {chooseAuthoritative} from './authority.js'
import {checkDivergence, readReplicaDatabase} from './divergence.js'
import {mountCommand, unmountCommand, type MountSettings} from './mount.js'
import {notData, SCOPE} from './replicas.js'
import {readVerified, recordVerifiedTree} from './verified.js'
import {highWaterMark} from './status-observe.js'

/** Everything `lnstore heal` decided up front, and what its steps recorded since; kept in the journal. */
export interface HealContext extends NodeRunContext {
  mount: MountSettings
  /** The replica every stale one is made a copy of. */
  authoritative: string
  stale: {replica: string; reason: string}[]
  /** The node database inside each replica, when there is one. */
  databasePath: string | null
  stateDir: string
  /** The authoritative copy once the node stopped: what every replica must hold afterwards. */
  atStop?: DatabaseReading
  /** A stale replica has begun to be rewritten: from here the mount may only come back through the verification. */
  copyStarted?: boolean
}

const BUSY_RETRIES = 10

/**
 * ChironFS does not remove its control socket when it exits, and a new mount whose daemon finds
 * the old one there cannot bind it and exits after the mount has been reported done. Only called
 * while the mount is gone, so no daemon listens on it.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => null)
  if (info?.isSocket()) await rm(path, {force: true})
}

/** A copy of the node database, with its integrity check; a copy that cannot be opened says which. */
async function readCopy(path: string): Promise<DatabaseReading> {
  try {
    return await readReplicaDatabase(path, true)
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`)
  }
}

async function isMounted(deps: Deps, mountpoint: string): Promise<boolean> {
  return parseMountInfo(await deps.readFile('/proc/self/mountinfo')).some((mount) => mount.mountPoint === mountpoint)
}

/** The steps of `lnstore heal`, each safe to run twice. */
export function healSteps(deps: Deps, context: HealContext): Step<HealContext>[] {
  const {mountpoint} = context.mount
  const mount = async (ctx: HealContext) => {
    if (await isMounted(deps, ctx.mount.mountpoint)) return
    await removeStaleSocket(ctx.mount.controlSocket)
    await runChecked(deps.runner, mountCommand(ctx.mount), {timeoutMs: 30_000})
    // chironfs returns once mounted; its daemon may still fail just after (it binds the control socket then).
    await new Promise((resolve) => setTimeout(resolve, 200))
    const answers = await readdir(ctx.mount.mountpoint).then(() => true, () => false)
    if (!(await isMounted(deps, ctx.mount.mountpoint)) || !answers) {
      await deps.runner.run(unmountCommand(ctx.mount.mountpoint))
      throw new Error(`chironfs returned but ${ctx.mount.mountpoint} does not answer (its daemon exited); see ${ctx.mount.log}`)
    }
  }

  /** What the node will open through the mount must be exactly what the authoritative replica held when it stopped. */
  const checkMountedData = async (ctx: HealContext) => {
    if (!ctx.atStop || !ctx.databasePath) return
    const problem = freshnessProblem(ctx.atStop, await readCopy(join(ctx.mount.mountpoint, ctx.databasePath)))
    if (problem) throw new Error(`${problem}. The node stays stopped`)
  }

  const node = nodeSteps(deps, context, {
    undoTitle: 'Start the node again (when the mount is back and its data verified)',
    async beforeUndoStart(ctx) {
      if (!(await isMounted(deps, ctx.mount.mountpoint))) throw new Error(`ChironFS is not mounted at ${ctx.mount.mountpoint}: the node must not start on the bare directory`)
      await checkMountedData(ctx)
    },
  })

  return [
    node.stop,
    {
      id: 'unmount',
      title: `Unmount ChironFS from ${mountpoint}`,
      commands: [unmountCommand(mountpoint)],
      async run(ctx) {
        for (let attempt = 1; await isMounted(deps, ctx.mount.mountpoint); attempt++) {
          const result = await deps.runner.run(unmountCommand(ctx.mount.mountpoint), {timeoutMs: 30_000})
          if (result.exitCode === 0) continue
          // A process that just exited may hold a file for a moment.
          if (!/busy/i.test(result.stderr) || attempt >= BUSY_RETRIES) throw new CommandError(result, `${ctx.mount.mountpoint} cannot be unmounted: ${result.stderr.trim()}; something still uses it (fuser -vm ${ctx.mount.mountpoint})`)
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      },
      undo: {
        title: `Mount ChironFS at ${mountpoint} again`,
        commands: [mountCommand(context.mount)],
        async run(ctx) {
          if (ctx.copyStarted) throw new Error('the stale replicas are partly rewritten: mounting now could serve half-copied files. Finish the heal with lnstore heal --resume')
          await mount(ctx)
        },
      },
    },
    {
      id: 'decide',
      title: 'Compare every replica in full, the node stopped, and confirm the source',
      commands: [],
      detail: `hash every file and run SQLite's integrity check in each replica; go on only if ${context.authoritative} is still the newest intact copy`,
      async run(ctx, report) {
        const replicas = ctx.mount.replicas.map((replica) => replica.path)
        const divergence = await checkDivergence(replicas, {full: true, integrity: true, settleMs: 0, verified: (await readVerified(ctx.stateDir)).files})
        const disabled = new Set(ctx.stale.map((entry) => entry.replica))
        const authority = chooseAuthoritative(
          divergence.replicas.map((look) => ({replica: look.replica, reachable: look.entries !== null, database: look.database, disabledByChironfs: disabled.has(look.replica)})),
          divergence.differences,
          await highWaterMark(ctx.stateDir, ctx.mount.mountpoint, divergence.databasePath),
        )
        if (authority.problem) throw new Error(`${authority.problem}. Nothing was copied; the node stays stopped (lnstore heal --abort mounts ChironFS and starts it as it was)`)
        if (authority.authoritative !== ctx.authoritative) {
          throw new Error(`with the node stopped, ${authority.authoritative} is the newest intact replica, not ${ctx.authoritative} as planned; nothing was copied. Run lnstore heal --abort, then lnstore heal again`)
        }

        const look = divergence.replicas.find((entry) => entry.replica === ctx.authoritative)
        if (look?.database) {
          ctx.atStop = look.database
          if (look.database.dataVersion !== null) await recordDataVersion(ctx.stateDir, join(ctx.mount.mountpoint, ctx.databasePath ?? ''), look.database.dataVersion, deps.now(), 'heal')
        }

        // Replicas found stale now (also those that differ only since the plan) are healed too.
        for (const entry of authority.stale) if (!ctx.stale.some((known) => known.replica === entry.replica)) ctx.stale.push(entry)
        report(`source ${ctx.authoritative}${look?.database ? ` (data_version ${look.database.dataVersion}, integrity ok)` : ''}; ${divergence.differences.length} differences`)
      },
    },
    {
      id: 'copy',
      title: `Copy ${context.authoritative} over ${context.stale.map((entry) => entry.replica).join(', ')}, verified by SHA-256`,
      commands: [],
      detail: 'make each stale replica an exact copy (files it should not have are removed), keeping owners, modes and times; then compare every file by SHA-256',
      async run(ctx, report) {
        ctx.copyStarted = true
        const source = await describeTree(ctx.authoritative, {skip: notData})
        for (const {replica} of ctx.stale) {
          const copied = await mirrorTree(ctx.authoritative, replica, notData)
          const differences = compareTrees(source, await describeTree(replica, {skip: notData}))
          if (differences.length > 0) throw new Error(`${replica} still differs from ${ctx.authoritative} after the copy in ${differences.length} places, first: ${differences.slice(0, 3).join('; ')}`)
          report(`${replica}: ${copied.files} files, ${copied.bytes} bytes, identical`)
        }

        // Every replica now holds exactly the source: what a later comparison tells an intact copy by.
        await recordVerifiedTree(ctx.stateDir, source, deps.now(), 'heal')
      },
    },
    {
      id: 'mount',
      title: `Mount ChironFS at ${mountpoint} with every replica`,
      commands: [mountCommand(context.mount)],
      run: (ctx) => mount(ctx),
    },
    {
      id: 'verify',
      title: 'Verify every replica and the mount hold the same data_version, intact',
      commands: [],
      detail: 'read data_version and PRAGMA quick_check in each replica and through the mount',
      async run(ctx, report) {
        if (!ctx.atStop || !ctx.databasePath) return report('no node database: the file comparison was the check')
        for (const {path} of ctx.mount.replicas) {
          const problem = freshnessProblem(ctx.atStop, await readCopy(join(path, ctx.databasePath)))
          if (problem) throw new Error(`replica ${path}: ${problem}. The node stays stopped`)
        }

        await checkMountedData(ctx)
        report(`data_version ${ctx.atStop.dataVersion} in every replica and through the mount`)
      },
    },
    node.start,
    {
      id: 'record',
      title: "Record the heal in lnstore's history",
      commands: [],
      detail: `append a "replicas-healed" event to ${context.stateDir}/events.json, and the verified copy as a clean full comparison in the history`,
      async run(ctx) {
        // Every stale replica was just compared with the source file by file: a clean full comparison.
        const at = deps.now()
        await new HistoryStore(ctx.stateDir).recordScrub({pool: SCOPE, startedAt: at, endedAt: at, durationSeconds: 0, errors: 0, devices: []}, at)
        await appendEvent(ctx.stateDir, {
          at: deps.now(),
          kind: 'replicas-healed',
          pool: SCOPE,
          detail: {from: ctx.authoritative, healed: ctx.stale, dataVersion: ctx.atStop?.dataVersion ?? null, downtimeSeconds: downtimeSeconds(ctx)},
        })
      },
    },
  ]
}
