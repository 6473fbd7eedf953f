import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'

import {BaseCommand} from '../base-command.js'
import {DEFAULT_CONFIG_PATHS} from '../config/load.js'
import type {Layout} from '../devices/checks.js'
import {initSteps, type InitContext} from '../init/plan.js'
import {prepareInit} from '../init/prepare.js'
import {confirm} from '../runbook/confirm.js'
import {openJournal, planOf, Runbook, unfinishedRunError, type PlanEntry, type Step} from '../runbook/engine.js'
import type {ChironfsInitContext} from '../chironfs/init.js'
import {formatReplica} from '../chironfs/replicas.js'
import {systemdRuns} from '../schedule/plan.js'
import {continueOpenRun, progressStyle, renderPlan, runWithProgress} from '../runbook/progress.js'

const LAYOUTS: Layout[] = ['mirror', 'raidz1', 'raidz2', 'raidz3']

/** Either kind of init, prepared: what the common part of run() shows, asks, runs and returns. */
interface Prepared {
  context: InitContext | ChironfsInitContext
  steps: Step<InitContext | ChironfsInitContext>[]
  plan: PlanEntry[]
  notes: string[]
  question: string
  done(): string
  result(action: InitResult['action']): InitResult
}

type InitFlags = Interfaces.InferredFlags<typeof Init.flags & typeof BaseCommand.baseFlags>
const layoutFlag = (layout: Layout, description: string) =>
  Flags.string({description, multiple: true, helpValue: 'DEVICE', exclusive: [...LAYOUTS.filter((other) => other !== layout), 'chironfs'], helpGroup: 'LAYOUT'})

export interface InitResult {
  action: 'planned' | 'created' | 'resumed' | 'aborted'
  plan: PlanEntry[]
  notes: string[]
  mode: 'zfs' | 'chironfs'
  /** Mode zfs: the pool and dataset; mode chironfs: the replicas. */
  pool?: string
  dataset?: string
  replicas?: string[]
  dataDir: string
  /** Where the original data directory was kept, when there was data to move. */
  originalKeptAt?: string
}

export default class Init extends BaseCommand {
  static summary = 'Create a mirror or RAID-Z pool for the node data directory and move the data onto it, safely.'

  static description = `Shows the plan (every command), asks, then runs it as a resumable runbook: create the pool (ashift=12; compression=lz4, atime=off, xattr=sa, acltype=posixacl, dedup=off on the pool's root), create the node dataset (recordsize=16K: SQLite writes 4 KiB pages, and ZFS rewrites a whole record per change) mounted at the node's data directory, and, when that directory has data, copy it, verify every file by SHA-256, owner, mode and time, and mount the dataset in its place, keeping the original renamed (never deleted). Settings this ZFS lacks (zfs-fuse has no lz4, xattr=sa or acltype) are skipped with a note.

Devices are refused, with the reason and the way out, when they do not exist, are given twice, are mounted, belong to a pool (imported, exported or destroyed), are much smaller than their peers, or hold a filesystem, RAID or partition-table signature (only this last one can be overridden, with --force).

On small boards without ZFS, --chironfs --replica DIR --replica :NFS-DIR mounts ChironFS at the data directory instead, writing every file to each replica (the ":" one, on the NFS share, is read only when the others fail): it checks that chironfs and FUSE are installed, the NFS replica's mount options (soft with bounded retries, sync) and that the replicas are on different filesystems, copies the data into every replica and verifies it, keeps the original, mounts with ChironFS's log and control socket, installs a systemd service that mounts it at boot before the node, and records mode chironfs in the config.

Exit codes: 0 done (or planned, with --dry-run), 1 a step failed (run --resume or --abort), 2 refused before touching anything.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --mirror /dev/sda /dev/sdb --user bitcoin --dry-run', description: 'Show the plan for a two-way mirror; change nothing.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --mirror /dev/sda /dev/sdb /dev/sdc --user bitcoin', description: 'A three-way mirror for the node of user bitcoin (~bitcoin/.lightning).'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --raidz2 /dev/sd[b-e] --data-dir /mnt/hdd/.lightning --yes', description: 'RAID-Z2 on four disks, without asking (scripts).'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --chironfs --replica /mnt/ssd/lightning --replica :/mnt/nas/lightning --user bitcoin', description: 'Small board: ChironFS over a local replica and a slow one on the NFS share.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --resume', description: 'Continue a run that stopped.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --abort', description: 'Take back what a stopped run did (the new pool holds only copies).'},
  ]

  static flags = {
    mirror: layoutFlag('mirror', 'Make a mirror of these devices (2 or more: every block on each).'),
    raidz1: layoutFlag('raidz1', 'Make a RAID-Z1 of these devices (3 or more; survives one failure).'),
    raidz2: layoutFlag('raidz2', 'Make a RAID-Z2 of these devices (4 or more; survives two failures).'),
    raidz3: layoutFlag('raidz3', 'Make a RAID-Z3 of these devices (5 or more; survives three failures).'),
    chironfs: Flags.boolean({description: 'Small boards without ZFS: mount ChironFS at the data directory, writing every file to each --replica.', exclusive: LAYOUTS, helpGroup: 'LAYOUT'}),
    replica: Flags.string({description: 'A ChironFS replica directory (repeatable, 2 or more); a leading ":" marks the slow one, for the NFS share.', multiple: true, helpValue: '[:]DIR', dependsOn: ['chironfs'], helpGroup: 'LAYOUT'}),
    'systemd-dir': Flags.string({description: 'Where --chironfs writes its mount service.', default: '/etc/systemd/system', env: 'LNSTORE_SYSTEMD_DIR', helpGroup: 'PATHS'}),
    pool: Flags.string({description: 'Name of the new pool.', default: 'lnstore', env: 'LNSTORE_INIT_POOL'}),
    dataset: Flags.string({description: 'Dataset for the node data. Default: <pool>/lightning.', env: 'LNSTORE_INIT_DATASET'}),
    'data-dir': Flags.string({description: "The node's data directory. Default: ~USER/.lightning.", env: 'LNSTORE_DATA_DIR'}),
    user: Flags.string({description: 'The user that runs the node and owns its data. Default: the owner of --data-dir.', env: 'LNSTORE_NODE_USER'}),
    group: Flags.string({description: "The node's group. Default: the user's primary group.", env: 'LNSTORE_NODE_GROUP'}),
    'allow-files': Flags.boolean({description: 'Accept regular files as devices (for tests and trials only).'}),
    force: Flags.boolean({description: 'Erase devices that hold a filesystem, RAID or partition-table signature. Never overrides the mounted and in-pool checks.'}),
    'dry-run': Flags.boolean({description: 'Print the plan with the exact commands and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts).', env: 'LNSTORE_YES'}),
    resume: Flags.boolean({description: 'Continue the run that stopped, from the first step not done.', exclusive: ['abort', 'chironfs', ...LAYOUTS]}),
    abort: Flags.boolean({description: 'Take back what the stopped run did.', exclusive: ['resume', 'chironfs', ...LAYOUTS]}),
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    if (!flags['dry-run']) this.requireRoot()
    const {stateDir, source} = await this.loadConfig(flags, {missingOk: true})
    const style = progressStyle({json: this.jsonEnabled(), tty: Boolean(process.stderr.isTTY)})
    const log = (line: string) => this.logToStderr(line)

    const journal = await openJournal<InitContext>(stateDir, 'init')
    if (journal && !flags.resume && !flags.abort) throw unfinishedRunError(journal)

    if (flags.resume || flags.abort) {
      const {chironfsInitSteps} = await import('../chironfs/init.js')
      // One journal for both kinds of init: a ChironFS run's context has its mount settings.
      const steps = (ctx: InitContext | ChironfsInitContext) => ('mount' in ctx ? chironfsInitSteps(this.deps, ctx) : initSteps(this.deps, ctx)) as Step<InitContext | ChironfsInitContext>[]
      const {context, steps: done} = await continueOpenRun<InitContext | ChironfsInitContext>({kind: 'init', stateDir, abort: flags.abort, style, log, now: this.deps.now, steps})
      return 'mount' in context ? chironfsResult(flags.abort ? 'aborted' : 'resumed', context, planOf(done), []) : this.finish(flags.abort ? 'aborted' : 'resumed', context, planOf(done), [])
    }

    const configPath = flags.config ?? source ?? DEFAULT_CONFIG_PATHS[0]
    const prepared = flags.chironfs ? await this.prepareChironfs(flags, configPath, stateDir) : await this.prepareZfs(flags, configPath, stateDir)
    const {context, steps, plan, notes} = prepared
    if (!this.jsonEnabled()) this.log(renderPlan('init', plan, notes, flags['dry-run']))
    if (flags['dry-run']) return prepared.result('planned')
    if (!(await confirm(prepared.question, {yes: flags.yes}))) {
      this.error(process.stdin.isTTY ? 'not confirmed: nothing was changed' : 'no terminal to confirm on: add --yes to go ahead (nothing was changed)', {exit: 2})
    }

    await runWithProgress(style, steps, log, (onEvent) => new Runbook<InitContext | ChironfsInitContext>({kind: 'init', stateDir, steps, onEvent, now: this.deps.now}).start(context))
    if (!this.jsonEnabled()) this.log(prepared.done())
    return prepared.result('created')
  }

  private async prepareZfs(flags: InitFlags, configPath: string, stateDir: string): Promise<Prepared> {
    const layout = LAYOUTS.find((candidate) => flags[candidate])
    if (!layout) this.error('say which pool to make: --mirror DEVICE DEVICE..., or --raidz1/--raidz2/--raidz3 DEVICE..., or on a small board --chironfs --replica DIR --replica :NFS-DIR', {exit: 2})
    const {context, steps, plan, notes} = await prepareInit(this.deps, {
      layout,
      devices: flags[layout]!,
      pool: flags.pool,
      dataset: flags.dataset,
      dataDir: flags['data-dir'],
      user: flags.user,
      group: flags.group,
      allowFiles: flags['allow-files'],
      force: flags.force,
      configPath,
      stateDir,
    })
    return {
      context,
      steps: steps as Step<InitContext | ChironfsInitContext>[],
      plan,
      notes,
      question: `This erases everything on ${context.devices.join(', ')}.`,
      done: () => renderDone(context),
      result: (action) => this.finish(action, context, plan, notes),
    }
  }

  private async prepareChironfs(flags: InitFlags, configPath: string, stateDir: string): Promise<Prepared> {
    const {prepareChironfsInit} = await import('../chironfs/init.js')
    const {config} = await this.loadConfig(flags, {missingOk: true})
    const {context, steps, plan, notes} = await prepareChironfsInit(this.deps, {
      replicas: flags.replica ?? [],
      dataDir: flags['data-dir'],
      user: flags.user,
      group: flags.group,
      configPath,
      stateDir,
      binary: process.env.LNSTORE_CHIRONFS_BIN ?? config.chironfs.binary,
      controlSocket: config.chironfs.controlSocket,
      log: config.chironfs.log,
      systemdDir: flags['systemd-dir'],
      nodeUnit: `${config.node.unit}.service`,
      systemdRunning: await systemdRuns(),
    })
    const {mountpoint, replicas} = context.mount
    return {
      context,
      steps: steps as Step<InitContext | ChironfsInitContext>[],
      plan,
      notes,
      question: `This mounts ChironFS over ${mountpoint}${context.migrate ? ' after copying its data into every replica' : ''}.`,
      done: () => `Done: ChironFS is mounted at ${mountpoint} over ${replicas.map(formatReplica).join(' ')}${context.migrate ? `; the original data is kept at ${context.originalKeptAt}` : ''}.\nNext: lnstore status`,
      result: (action) => chironfsResult(action, context, plan, notes),
    }
  }

  private requireRoot(): void {
    if (process.getuid?.() !== 0) {
      this.error('init creates pools and changes disks: run it as root (sudo). --dry-run shows the plan without root.', {exit: 2})
    }
  }

  private finish(action: InitResult['action'], context: InitContext, plan: PlanEntry[], notes: string[]): InitResult {
    return {
      action,
      plan,
      notes,
      mode: 'zfs',
      pool: context.pool,
      dataset: context.dataset,
      dataDir: context.dataDir,
      ...(context.migrate ? {originalKeptAt: context.originalKeptAt} : {}),
    }
  }
}

function chironfsResult(action: InitResult['action'], context: ChironfsInitContext, plan: PlanEntry[], notes: string[]): InitResult {
  return {action, plan, notes, mode: 'chironfs', replicas: context.mount.replicas.map(formatReplica), dataDir: context.mount.mountpoint, ...(context.migrate ? {originalKeptAt: context.originalKeptAt} : {})}
}

function renderDone(context: InitContext): string {
  const lines = [`Done: pool ${context.pool} (${context.layout}) holds ${context.dataset}, mounted at ${context.dataDir}.`]
  if (context.migrate) lines.push(`The original data is kept at ${context.originalKeptAt}: remove it once the node runs well on the pool.`)
  lines.push('Next: lnstore status')
  return lines.join('\n')
}
