import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {DEFAULT_CONFIG_PATHS} from '../config/load.js'
import type {Layout} from '../devices/checks.js'
import type {AnyInitContext, InitResult} from '../init/runbook.js'
import {runbookEnvelope, runbookFlags} from '../runbook/command.js'

const LAYOUTS: Layout[] = ['mirror', 'raidz1', 'raidz2', 'raidz3']

const layoutFlag = (layout: Layout, description: string) =>
  Flags.string({description, multiple: true, helpValue: 'DEVICE', exclusive: [...LAYOUTS.filter((other) => other !== layout), 'chironfs'], helpGroup: 'LAYOUT'})

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
    ...runbookFlags({abort: 'Take back what the stopped run did.', exclusive: ['chironfs', ...LAYOUTS]}),
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    const runbook = runbookEnvelope(this.runbookOutput(), {kind: 'init', needsRoot: 'init creates pools and changes disks', flags})
    const {config, source, stateDir} = await this.loadConfig(flags, {missingOk: true})
    const {initResult, initStepsOf, planChironfsInit, planZfsInit, renderDone} = await import('../init/runbook.js')
    return runbook.run<AnyInitContext, InitResult>({
      stateDir,
      steps: (context) => initStepsOf(this.deps, context),
      plan: () => {
        const layout = LAYOUTS.find((candidate) => flags[candidate])
        const request = {...flags, layout, devices: layout ? flags[layout]! : [], replicas: flags.replica ?? [], configPath: flags.config ?? source ?? DEFAULT_CONFIG_PATHS[0], stateDir}
        return flags.chironfs ? planChironfsInit(this.deps, request, config) : planZfsInit(this.deps, request)
      },
      finish: (action, context, plan, notes) => {
        if (action === 'done' && !this.jsonEnabled()) this.log(renderDone(context))
        return initResult(action === 'done' ? 'created' : action, context, plan, notes)
      },
    })
  }
}
