import {mkdir, readdir, rename, rmdir, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {Layout} from '../devices/checks.js'
import type {Step} from '../runbook/engine.js'
import {appendEvent} from '../state/events.js'
import {writeFileAtomically} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {checkDataDirMount, parseMountInfo} from '../storage/mounts.js'
import type {ChosenProperties} from '../zfs/properties.js'
import {compareTrees, copyTree, describeTree} from './copy-tree.js'
import {processesUsing} from './processes.js'

/** Everything `init` decided before it touched anything; kept in the journal so `--resume` needs no flags. */
export interface InitContext {
  pool: string
  layout: Layout
  /** Device paths handed to zpool (stable by-id names where the machine has them). */
  devices: string[]
  dataset: string
  dataDir: string
  owner: {user: string; group: string}
  properties: ChosenProperties
  /** The data directory has content to move onto the new dataset. */
  migrate: boolean
  /** Where the dataset is mounted while the data is copied and verified. */
  stagingDir: string
  /** Where the original data directory is kept (renamed, never deleted) after the switch. */
  originalKeptAt: string
  configPath: string
  /** The config file's text before init, to restore on abort; null when there was none. */
  previousConfig: string | null
  /** The config file init writes. */
  newConfig: string
  stateDir: string
}

const option = (flag: string, choices: {property: string; value: string}[]) => choices.flatMap(({property, value}) => [flag, `${property}=${value}`])

export function createPoolCommand(context: InitContext): string[] {
  const vdev = context.layout === 'mirror' ? 'mirror' : context.layout
  return ['zpool', 'create', ...option('-o', context.properties.pool), ...option('-O', context.properties.root), context.pool, vdev, ...context.devices]
}

export function createDatasetCommand(context: InitContext): string[] {
  const mountpoint = context.migrate ? context.stagingDir : context.dataDir
  return ['zfs', 'create', ...option('-o', context.properties.dataset), '-o', `mountpoint=${mountpoint}`, context.dataset]
}

const MOUNT_WAIT_MS = 15_000
const MOUNT_POLL_MS = 100

/**
 * Makes sure the dataset is mounted at `directory` before anything is written there or the step
 * counts as done. `zfs create` and `zfs set mountpoint` mount as a side effect, but zfs-fuse can
 * answer before its FUSE mount is in place, or leave the dataset unmounted under load: a copy
 * made then would land on the root filesystem, and the node would start on an empty directory.
 */
async function ensureMounted(deps: Deps, dataset: string, directory: string): Promise<void> {
  const finding = async () => checkDataDirMount(parseMountInfo(await deps.readFile('/proc/self/mountinfo')), directory, dataset)
  if (!(await finding())) return
  const mount = await deps.runner.run(['zfs', 'mount', dataset])
  const deadline = deps.now() + MOUNT_WAIT_MS
  let last = await finding()
  while (last && deps.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, MOUNT_POLL_MS))
    last = await finding()
  }

  if (last) throw new Error(`${last.message} (\`zfs mount ${dataset}\`: ${mount.exitCode === 0 ? 'exit 0' : mount.stderr.trim()})`)
}

/** The steps of `lnstore init`, each safe to run twice, each with the exact commands it runs. */
export function initSteps(deps: Deps, context: InitContext): Step<InitContext>[] {
  const run = (argv: string[]) => runChecked(deps.runner, argv, {retryWhileBusy: true})
  const exists = async (argv: string[]) => (await deps.runner.run(argv)).exitCode === 0
  const setMountpoint = (mountpoint: string) => ['zfs', 'set', `mountpoint=${mountpoint}`, context.dataset]
  const steps: Step<InitContext>[] = [
    {
      id: 'create-pool',
      title: `Create the ${context.layout} pool ${context.pool}`,
      commands: [createPoolCommand(context)],
      async run(ctx) {
        if (await exists(['zpool', 'list', '-H', '-o', 'name', ctx.pool])) return
        await run(createPoolCommand(ctx))
      },
      undo: {
        title: `Destroy the new pool ${context.pool} (it holds only copies)`,
        commands: [['zpool', 'destroy', context.pool]],
        async run(ctx) {
          if (await exists(['zpool', 'list', '-H', '-o', 'name', ctx.pool])) await run(['zpool', 'destroy', ctx.pool])
          if (ctx.migrate && (await isEmptyOrMissing(ctx.stagingDir))) await rmdir(ctx.stagingDir).catch(() => {})
        },
      },
    },
    {
      id: 'create-dataset',
      title: `Create the dataset ${context.dataset}`,
      commands: [createDatasetCommand(context)],
      async run(ctx) {
        if (!(await exists(['zfs', 'list', '-H', '-o', 'name', ctx.dataset]))) await run(createDatasetCommand(ctx))
        await ensureMounted(deps, ctx.dataset, ctx.migrate ? ctx.stagingDir : ctx.dataDir)
      },
    },
  ]

  if (context.migrate) {
    steps.push(
      {
        id: 'copy',
        title: `Copy ${context.dataDir} onto the new dataset`,
        commands: [],
        detail: `copy every file to ${context.stagingDir}, keeping owners, modes, symlinks and timestamps`,
        async run(ctx, report) {
          await refuseIfInUse(ctx.dataDir)
          const copied = await copyTree(ctx.dataDir, ctx.stagingDir)
          report(`${copied.files} files, ${copied.bytes} bytes copied`)
          for (const skipped of copied.skipped) report(`not copied: ${skipped.path} (${skipped.reason})`)
        },
      },
      {
        id: 'verify',
        title: 'Verify the copy file by file (SHA-256, owners, modes, times)',
        commands: [],
        detail: `compare every file of ${context.dataDir} with ${context.stagingDir}`,
        async run(ctx, report) {
          const [original, copy] = await Promise.all([describeTree(ctx.dataDir), describeTree(ctx.stagingDir)])
          const differences = compareTrees(original, copy)
          if (differences.length > 0) {
            throw new Error(`the copy differs from the original in ${differences.length} places, first: ${differences.slice(0, 5).join('; ')}`)
          }

          report(`${original.length} entries identical`)
        },
      },
      {
        id: 'switch',
        title: `Mount the dataset at ${context.dataDir}, keeping the original as ${context.originalKeptAt}`,
        commands: [['mv', context.dataDir, context.originalKeptAt], setMountpoint(context.dataDir)],
        async run(ctx) {
          await refuseIfInUse(ctx.dataDir)
          // On a resume after the rename, the original is already set aside.
          if (await isEmptyOrMissing(ctx.originalKeptAt)) await rename(ctx.dataDir, ctx.originalKeptAt)
          await run(setMountpoint(ctx.dataDir))
          await ensureMounted(deps, ctx.dataset, ctx.dataDir)
          // ZFS leaves the old, now empty, mountpoint directory behind.
          if (await isEmptyOrMissing(ctx.stagingDir)) await rmdir(ctx.stagingDir).catch(() => {})
        },
        undo: {
          title: `Put the original ${context.dataDir} back`,
          commands: [setMountpoint(context.stagingDir), ['mv', context.originalKeptAt, context.dataDir]],
          async run(ctx) {
            await run(setMountpoint(ctx.stagingDir))
            // ZFS may leave the empty mountpoint directory behind.
            if (await isEmptyOrMissing(ctx.dataDir)) await rmdir(ctx.dataDir).catch(() => {})
            if (!(await isEmptyOrMissing(ctx.originalKeptAt))) await rename(ctx.originalKeptAt, ctx.dataDir)
          },
        },
      },
    )
  }

  steps.push(
    {
      id: 'owner',
      title: `Give ${context.dataDir} to ${context.owner.user}:${context.owner.group}`,
      commands: [['chown', `${context.owner.user}:${context.owner.group}`, context.dataDir]],
      async run(ctx) {
        await run(['chown', `${ctx.owner.user}:${ctx.owner.group}`, ctx.dataDir])
      },
    },
    writeConfigStep(context, `pool ${context.pool}, dataset ${context.dataset}, dataDir ${context.dataDir}, node user ${context.owner.user}, mode zfs`),
    {
      id: 'record',
      title: 'Record the new pool in lnstore\'s history',
      commands: [],
      detail: `append a "pool-created" event to ${context.stateDir}/events.json`,
      async run(ctx) {
        await appendEvent(ctx.stateDir, {at: deps.now(), kind: 'pool-created', pool: ctx.pool, detail: {layout: ctx.layout, devices: ctx.devices, dataset: ctx.dataset, dataDir: ctx.dataDir}})
      },
    },
  )
  return steps
}

/** init's step that writes the config (keeping what the file had), undone by putting the old file back. */
export function writeConfigStep<C extends {configPath: string; newConfig: string; previousConfig: string | null}>(context: C, detail: string): Step<C> {
  return {
    id: 'config',
    title: `Write lnstore's config ${context.configPath}`,
    commands: [],
    detail,
    async run(ctx) {
      await mkdir(dirname(ctx.configPath), {recursive: true})
      await writeFileAtomically(ctx.configPath, ctx.newConfig)
    },
    undo: {
      title: `Restore ${context.configPath}`,
      commands: [],
      async run(ctx) {
        if (ctx.previousConfig === null) await unlink(ctx.configPath).catch(() => {})
        else await writeFileAtomically(ctx.configPath, ctx.previousConfig)
      },
    },
  }
}

async function refuseIfInUse(directory: string): Promise<void> {
  const users = await processesUsing(directory)
  if (users.length > 0) {
    throw new Error(`${directory} is in use by ${users.map((user) => `${user.command} (pid ${user.pid})`).join(', ')}: stop the Lightning node first`)
  }
}

export async function isEmptyOrMissing(directory: string): Promise<boolean> {
  try {
    return (await readdir(directory)).length === 0
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw error
  }
}
