import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import type {AlertsConfig} from '../config/schema.js'
import {nodeFlags, nodeSettingsFromFlags} from '../node/flags.js'
import {confirm} from '../runbook/confirm.js'
import {openJournal, planOf, Runbook, unfinishedRunError, type PlanEntry} from '../runbook/engine.js'
import {continueOpenRun, progressStyle, renderPlan, runWithProgress} from '../runbook/progress.js'
import {describeReplaceState, downtimeSeconds, replaceSteps, type ReplaceContext} from '../replace/plan.js'

export interface ReplaceResult {
  action: 'planned' | 'replaced' | 'resumed' | 'aborted'
  plan: PlanEntry[]
  notes: string[]
  pool: string
  failing: string
  newDevice: string
  restart: ReplaceContext['restart']
  /** The new disk's SMART short self-test, when it ran. */
  selfTest: ReplaceContext['selfTestOutcome'] | null
  /** data_version and quick_check before the stop, at the stop, and before the restart. */
  freshness: ReplaceContext['freshness']
  downtimeSeconds: number | null
  /** What became of the removed device, which still holds an old copy of the channel database. */
  oldDevice?: {path: string; labelsCleared: boolean; warning?: string}
  /** After --abort: the pool's state as zpool reports it. */
  poolState?: string
  /** After --abort: what it put back. */
  putBack?: string[]
}

const KIND = 'replace-disk'

export default class ReplaceDisk extends BaseCommand {
  static summary = 'Replace a failing disk of the node pool: stop the node gracefully, replace, resilver, verify the data is not older, start the node.'

  static description = `Shows the plan (every command), asks, then runs it as a resumable runbook: run a SMART short self-test of the new disk (when smartctl is installed), record the node's data_version and check its database (read-only), stop the node and wait until its process has exited, take the failing device offline, zpool replace it, follow the resilver, verify the pool and that the database holds exactly what the node last wrote, clear the pool's counters and start the node again, never on older data.

--restart=after-resilver (default) keeps the node down until the pool is fully redundant again; --restart=after-replace starts it as soon as the replace has begun and the data check passed, while ZFS resilvers.

Afterwards the removed disk still holds an old copy of the channel database: lnstore clears its ZFS labels when it is still attached (asking first), or tells you to wipe it.

Before the node is stopped (and again whenever a resumed run has to stop it again), in-flight HTLCs are read: the run is refused when the nearest expires within the expected downtime plus 18 blocks, and warns within twice that (--ignore-htlcs goes ahead regardless).

--resume reconciles with the world before each step: a node started again meanwhile is stopped again (with the same checks), a device brought back online is taken offline again, a step already done is skipped. Only one process runs a journal at a time: a --resume while another lnstore runs it is refused with that process's pid. --abort always closes the journal and says what it put back and what it could not.

Exit codes: 0 done (or planned, with --dry-run), 1 a step failed (run --resume or --abort) or --abort could not put everything back, 2 refused before touching anything.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> /dev/sdb /dev/disk/by-id/ata-NEW --dry-run', description: 'Show the plan; change nothing.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> sdb /dev/disk/by-id/ata-NEW', description: 'Replace sdb; the node stays down until the resilver is done.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> sdb /dev/sdd --restart after-replace --yes', description: 'Start the node as soon as the replace began (scripts: no questions).'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --resume', description: 'Continue a run that stopped.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --abort', description: 'Stop the run: bring the failing device and the node back when safe, and show the pool state.'},
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
    'i-understand': Flags.boolean({description: 'Replace a healthy disk although that leaves its vdev without a redundant copy while it is replaced.'}),
    'ignore-htlcs': Flags.boolean({description: 'Stop the node although an in-flight HTLC expires within the expected downtime (its channel may be force-closed).'}),
    'dry-run': Flags.boolean({description: 'Print the plan with the exact commands and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts); also clears the old disk\'s labels.', env: 'LNSTORE_YES'}),
    resume: Flags.boolean({description: 'Continue the run that stopped, from the first step not done.', exclusive: ['abort']}),
    abort: Flags.boolean({description: 'Stop the run: bring back what is safe to bring back, and say the pool state.', exclusive: ['resume']}),
  }

  async run(): Promise<ReplaceResult> {
    const {args, flags} = await this.parse(ReplaceDisk)
    if (!flags['dry-run'] && process.getuid?.() !== 0) this.error('replace-disk changes pools and stops the node: run it as root (sudo). --dry-run shows the plan without root.', {exit: 2})
    const {config, stateDir} = await this.loadConfig(flags, {missingOk: true})
    const style = progressStyle({json: this.jsonEnabled(), tty: Boolean(process.stderr.isTTY)})
    const log = (line: string) => this.logToStderr(line)
    const journal = await openJournal<ReplaceContext>(stateDir, KIND)
    if (journal && !flags.resume && !flags.abort) throw unfinishedRunError(journal)

    if (flags.resume || flags.abort) {
      const {context, steps, aborted} = await continueOpenRun<ReplaceContext>({
        kind: KIND,
        stateDir,
        abort: flags.abort,
        style,
        log,
        now: this.deps.now,
        steps: (ctx) => {
          // Flags given to --resume apply from here on (a stop done again weighs the HTLCs again).
          if (flags['ignore-htlcs']) ctx.ignoreHtlcs = true
          return replaceSteps(this.deps, ctx)
        },
        describeState: (ctx) => describeReplaceState(this.deps, ctx),
      })
      if (!flags.abort) return this.finishRun('resumed', context, planOf(steps), [], {yes: flags.yes, alerts: config.alerts})
      const {poolState} = await import('../replace/finish.js')
      const state = await poolState(this.deps, context.pool)
      const putBack = aborted?.putBack ?? []
      if (!this.jsonEnabled()) this.log([`Aborted: the run is closed.${putBack.length === 0 ? ' Nothing needed putting back.' : ''}`, ...putBack.map((line) => `  put back: ${line}`), state].join('\n'))
      return {...this.result('aborted', context, planOf(steps), []), poolState: state, putBack}
    }

    if (!args.failing || !args.new) this.error('say which device to replace and with what: lnstore replace-disk FAILING NEW (or --resume / --abort)', {exit: 2})
    const node = nodeSettingsFromFlags(config, flags)
    if (!node) this.error("lnstore does not know the node's data directory: give --data-dir, or run lnstore init (it writes dataDir to the config)", {exit: 2})
    const {prepareReplace} = await import('../replace/prepare.js')
    const {context, steps, plan, notes} = await prepareReplace(this.deps, {
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
    if (!this.jsonEnabled()) this.log(renderPlan(KIND, plan, notes, flags['dry-run']))
    if (flags['dry-run']) return this.result('planned', context, plan, notes)

    const question = `This stops the node and replaces ${context.failing} with ${context.newDevice} (erasing it).`
    if (!(await confirm(question, {yes: flags.yes}))) {
      this.error(process.stdin.isTTY ? 'not confirmed: nothing was changed' : 'no terminal to confirm on: add --yes to go ahead (nothing was changed)', {exit: 2})
    }

    const describeState = (ctx: ReplaceContext) => describeReplaceState(this.deps, ctx)
    await runWithProgress(style, steps, log, (onEvent) => new Runbook({kind: KIND, stateDir, steps, onEvent, now: this.deps.now, describeState}).start(context))
    return this.finishRun('replaced', context, plan, notes, {yes: flags.yes, alerts: config.alerts})
  }

  /** After the last step: deal with the removed disk's old copy of the data, and say how long the node was down. */
  private async finishRun(action: 'replaced' | 'resumed', context: ReplaceContext, plan: PlanEntry[], notes: string[], options: {yes: boolean; alerts: AlertsConfig}): Promise<ReplaceResult> {
    const {mailReport, retireOldDevice} = await import('../replace/finish.js')
    // The steps recorded their readings and times in `context` as they ran.
    const oldDevice = await retireOldDevice(this.deps, context.failing, context.failingPath, (question) => confirm(question, {yes: options.yes}))
    const result = {...this.result(action, context, plan, notes), oldDevice}
    if (!this.jsonEnabled()) this.log(renderDone(result))
    const dataVersion = context.freshness.atStop?.dataVersion ?? null
    await mailReport(this.deps, options.alerts, context.stateDir, {...result, dataVersion, oldDeviceWarning: oldDevice.warning}, (line) => this.logToStderr(line))
    return result
  }

  private result(action: ReplaceResult['action'], context: ReplaceContext, plan: PlanEntry[], notes: string[]): ReplaceResult {
    return {
      action,
      plan,
      notes,
      pool: context.pool,
      failing: context.failing,
      newDevice: context.newDevice,
      restart: context.restart,
      selfTest: context.selfTestOutcome ?? null,
      freshness: context.freshness,
      downtimeSeconds: downtimeSeconds(context),
    }
  }
}

function renderDone(result: ReplaceResult): string {
  const lines = [`Done: ${result.failing} replaced by ${result.newDevice} in ${result.pool}.`]
  if (result.selfTest) lines.push(`SMART short self-test of ${result.selfTest.device}: ${result.selfTest.result} (${result.selfTest.detail}).`)
  const version = result.freshness.beforeStart?.dataVersion ?? result.freshness.atStop?.dataVersion
  if (version !== undefined) lines.push(`The node's database: data_version ${version}, quick_check ok.`)
  lines.push(result.downtimeSeconds === null ? 'The node was not stopped by lnstore.' : `The node was down for ${result.downtimeSeconds.toFixed(1)} s.`)
  if (result.oldDevice?.warning) lines.push(`WARNING: ${result.oldDevice.warning}`)
  else if (result.oldDevice?.labelsCleared) lines.push(`The ZFS labels of ${result.oldDevice.path} are cleared: it cannot be imported with the old data.`)
  lines.push('Next: lnstore status')
  return lines.join('\n')
}
