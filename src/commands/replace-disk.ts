import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {NO_DATA_DIR, nodeFlags, nodeSettingsFromFlags} from '../node/flags.js'
import type {ReplaceContext} from '../replace/plan.js'
import {renderDone, replaceResult, type ReplaceResult} from '../replace/result.js'
import {requireRunbook, runbookEnvelope, runbookFlags} from '../runbook/command.js'
import {confirm} from '../runbook/confirm.js'

export default class ReplaceDisk extends BaseCommand {
  static summary = 'Replace a failing disk of the node pool: stop the node gracefully, replace, resilver, verify the data is not older, start the node.'

  static description = `Shows the plan (every command), asks, then runs it as a resumable runbook: run a SMART short self-test of the new disk (when smartctl is installed), record the node's data_version and check its database (read-only), stop the node and wait until its process has exited, zpool replace the failing device with the new one while it stays attached (its copy stays readable in the replacing vdev until ZFS detaches it at the end of the resilver), follow the resilver, verify the pool and that the database holds exactly what the node last wrote, clear the pool's counters and start the node again, never on older data.

--same-slot, for a new disk that must go into the failing disk's slot, takes the failing device offline first and waits while you swap the disks: its copy is gone until the resilver ends, so where that leaves the vdev without a redundant copy (a two-way mirror) it is refused unless --i-understand.

--restart=after-resilver (default) keeps the node down until the pool is fully redundant again; --restart=after-replace starts it as soon as the replace has begun and the data check passed, while ZFS resilvers.

Afterwards the removed disk still holds an old copy of the channel database: lnstore clears its ZFS labels when it is still attached (asking first), or tells you to wipe it.

Before the node is stopped (and again whenever a resumed run has to stop it again), in-flight HTLCs are read: the run is refused when the nearest expires within the expected downtime plus 18 blocks, and warns within twice that (--ignore-htlcs goes ahead regardless).

--resume reconciles with the world before each step: a node started again meanwhile is stopped again (with the same checks), a device taken offline by the run (--same-slot) and brought back online meanwhile is taken offline again, a step already done is skipped. Only one process runs a journal at a time: a --resume while another lnstore runs it is refused with that process's pid. --abort always closes the journal and says what it put back and what it could not.

Exit codes: 0 done (or planned, with --dry-run), 1 a step failed (run --resume or --abort) or --abort could not put everything back, 2 refused before touching anything.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> /dev/sdb /dev/disk/by-id/ata-NEW --dry-run', description: 'Show the plan; change nothing.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> sdb /dev/disk/by-id/ata-NEW', description: 'Replace sdb; the node stays down until the resilver is done.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> sdb /dev/sdd --restart after-replace --yes', description: 'Start the node as soon as the replace began (scripts: no questions).'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --resume', description: 'Continue a run that stopped.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --abort', description: 'Stop the run: bring the node (and a device taken offline for --same-slot) back when safe, and show the pool state.'},
  ]

  static args = {
    failing: Args.string({description: 'The failing device, as `zpool status` or `lnstore status` names it, or its path.'}),
    new: Args.string({description: 'The new, blank device (at least as large).'}),
  }

  static flags = {
    restart: Flags.string({description: 'When the node starts again.', options: ['after-resilver', 'after-replace'], default: 'after-resilver', env: 'LNSTORE_RESTART'}),
    'same-slot': Flags.boolean({description: 'The new disk must go into the failing disk\'s slot: pause after taking it offline, say what to swap, and wait for the new device to appear.'}),
    ...nodeFlags,
    'allow-files': Flags.boolean({description: 'Accept a regular file as the new device (for tests and trials only).'}),
    'skip-self-test': Flags.boolean({description: 'Do not run a SMART short self-test of the new disk first (it runs when smartctl is installed and takes about 2 minutes).'}),
    force: Flags.boolean({description: 'Use a new device that holds a filesystem, RAID or partition-table signature.'}),
    'i-understand': Flags.boolean({description: 'With --same-slot only: take the failing disk out although that leaves its vdev without a redundant copy until the resilver ends. Accepted, and not needed, otherwise: the failing disk stays in the pool while it is replaced.'}),
    'ignore-htlcs': Flags.boolean({description: 'Stop the node although an in-flight HTLC expires within the expected downtime (its channel may be force-closed).'}),
    ...runbookFlags({abort: 'Stop the run: bring back what is safe to bring back, and say the pool state.'}),
    yes: Flags.boolean({char: 'y', description: "Do not ask for confirmation (for scripts); also clears the old disk's labels.", env: 'LNSTORE_YES'}),
  }

  async run(): Promise<ReplaceResult> {
    const {args, flags} = await this.parse(ReplaceDisk)
    const runbook = runbookEnvelope(this.runbookOutput(), {kind: 'replace-disk', needsRoot: 'replace-disk changes pools and stops the node', flags})
    const {config, stateDir} = await this.loadConfig(flags, {missingOk: true})
    await requireRunbook(config, 'replace-disk')
    const {describeReplaceState, replaceSteps} = await import('../replace/plan.js')
    return runbook.run<ReplaceContext, ReplaceResult>({
      stateDir,
      steps: (context) => {
        // Given to --resume, it holds from here on (a stop done again weighs the HTLCs again).
        if (flags['ignore-htlcs']) context.ignoreHtlcs = true
        return replaceSteps(this.deps, context)
      },
      describeState: (context) => describeReplaceState(this.deps, context),
      plan: async () => {
        if (!args.failing || !args.new) this.error('say which device to replace and with what: lnstore replace-disk FAILING NEW (or --resume / --abort)', {exit: 2})
        const node = nodeSettingsFromFlags(config, flags)
        if (!node) this.error(NO_DATA_DIR, {exit: 2})
        const {prepareReplace} = await import('../replace/prepare.js')
        const planned = await prepareReplace(this.deps, {
          failing: args.failing,
          newDevice: args.new,
          restart: flags.restart as ReplaceContext['restart'],
          sameSlot: flags['same-slot'],
          node,
          stopTimeoutSeconds: flags['stop-timeout'] ?? config.node.stopTimeoutSeconds,
          startTimeoutSeconds: config.node.startTimeoutSeconds,
          allowFiles: flags['allow-files'],
          force: flags.force,
          selfTest: !flags['skip-self-test'],
          iUnderstand: flags['i-understand'],
          ignoreHtlcs: flags['ignore-htlcs'],
          stateDir,
        })
        return {...planned, question: `This stops the node and replaces ${planned.context.failing} with ${planned.context.newDevice} (erasing it).`}
      },
      finish: async (action, context, plan, notes, aborted) => {
        const result = replaceResult(action === 'done' ? 'replaced' : action, context, plan, notes)
        if (action === 'planned') return result
        const finish = await import('../replace/finish.js')
        if (action === 'aborted') {
          const poolState = await finish.poolState(this.deps, context.pool)
          const putBack = aborted?.putBack ?? []
          if (!this.jsonEnabled()) this.log([`Aborted: the run is closed.${putBack.length === 0 ? ' Nothing needed putting back.' : ''}`, ...putBack.map((line) => `  put back: ${line}`), poolState].join('\n'))
          return {...result, poolState, putBack}
        }

        // Deal with the removed disk's old copy of the data, say how long the node was down, mail the report.
        const oldDevice = await finish.retireOldDevice(this.deps, context.failing, context.failingPath, (question) => confirm(question, {yes: flags.yes}))
        if (!this.jsonEnabled()) this.log(renderDone({...result, oldDevice}))
        const report = {...result, oldDevice, dataVersion: context.freshness.atStop?.dataVersion ?? null, oldDeviceWarning: oldDevice.warning}
        await finish.mailReport(this.deps, config.alerts, context.stateDir, report, (line) => this.logToStderr(line))
        return {...result, oldDevice}
      },
    })
  }
}
