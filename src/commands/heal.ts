import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import type {HealContext} from '../chironfs/heal.js'
import {nodeFlags, nodeSettingsFromFlags} from '../node/flags.js'
import {confirm} from '../runbook/confirm.js'
import {openJournal, planOf, Runbook, unfinishedRunError, type PlanEntry} from '../runbook/engine.js'
import {continueOpenRun, progressStyle, renderPlan, runWithProgress} from '../runbook/progress.js'

export interface HealResult {
  action: 'nothing-to-do' | 'planned' | 'healed' | 'resumed' | 'aborted'
  plan: PlanEntry[]
  notes: string[]
  authoritative: string | null
  stale: HealContext['stale']
  /** The node database's data_version every replica holds afterwards. */
  dataVersion: number | null
  downtimeSeconds: number | null
}

const KIND = 'heal'

export default class Heal extends BaseCommand {
  static summary = 'Mode chironfs: bring stale replicas back in step, from the newest intact one, with the node stopped.'

  static description = `ChironFS keeps going when a write fails on a replica, but it disables that replica and never heals it: from then on it falls behind. heal shows the plan, asks, then runs it as a resumable runbook: stop the node (and wait until its process has exited), unmount ChironFS, compare every replica in full (SHA-256 of every file, SQLite's integrity check and data_version), copy the authoritative replica (the newest data_version that passes the check) over each stale one and verify it file by file, mount ChironFS again with every replica, verify that every replica and the mount hold the same data_version, and start the node.

It never copies from a replica that is behind or fails the integrity check, and refuses (touching nothing) when a replica does not answer, when no replica is clearly right (equal data_version, different content), or when the newest copy is damaged.

Exit codes: 0 done, planned, or nothing to heal; 1 a step failed (run --resume or --abort); 2 refused before touching anything.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --dry-run', description: 'Show what is stale, the source, and every step; change nothing.'},
    {command: 'sudo <%= config.bin %> <%= command.id %>', description: 'Heal, asking first.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --yes --json', description: 'Heal without asking (scripts), the result as JSON.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --resume', description: 'Continue a heal that stopped (crash, power cut, Ctrl-C).'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --abort', description: 'Mount ChironFS again and start the node as they were (only before any replica was rewritten).'},
  ]

  static flags = {
    ...nodeFlags,
    'dry-run': Flags.boolean({description: 'Print the plan with the exact commands and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts).', env: 'LNSTORE_YES'}),
    resume: Flags.boolean({description: 'Continue the run that stopped, from the first step not done.', exclusive: ['abort']}),
    abort: Flags.boolean({description: 'Stop the run: mount ChironFS and start the node again when safe.', exclusive: ['resume']}),
  }

  async run(): Promise<HealResult> {
    const {flags} = await this.parse(Heal)
    if (!flags['dry-run'] && process.getuid?.() !== 0) this.error('heal unmounts ChironFS and stops the node: run it as root (sudo). --dry-run shows the plan without root.', {exit: 2})
    const {config, stateDir} = await this.loadConfig(flags)
    if (config.mode !== 'chironfs') this.error('heal is for mode chironfs (ChironFS replicas); this config is in mode zfs, where ZFS heals itself (lnstore scrub, lnstore replace-disk)', {exit: 2})
    const style = progressStyle({json: this.jsonEnabled(), tty: Boolean(process.stderr.isTTY)})
    const log = (line: string) => this.logToStderr(line)
    const {healSteps} = await import('../chironfs/heal.js')
    const journal = await openJournal<HealContext>(stateDir, KIND)
    if (journal && !flags.resume && !flags.abort) throw unfinishedRunError(journal)
    if (flags.resume || flags.abort) {
      const {context, steps} = await continueOpenRun<HealContext>({kind: KIND, stateDir, abort: flags.abort, style, log, now: this.deps.now, steps: (ctx) => healSteps(this.deps, ctx)})
      return this.done(flags.abort ? 'aborted' : 'resumed', context, planOf(steps), [])
    }

    const node = nodeSettingsFromFlags(config, flags)
    if (!node) this.error("lnstore does not know the node's data directory: set dataDir in the config", {exit: 2})
    const {prepareHeal} = await import('../chironfs/prepare-heal.js')
    const {context, steps, plan, notes} = await prepareHeal(this.deps, {config, stateDir, node})
    if (!context) {
      if (!this.jsonEnabled()) this.log(`Nothing to heal: ${notes.join('; ')}.`)
      return {action: 'nothing-to-do', plan, notes, authoritative: null, stale: [], dataVersion: null, downtimeSeconds: null}
    }

    if (flags['stop-timeout']) context.stopTimeoutSeconds = flags['stop-timeout']
    if (!this.jsonEnabled()) this.log(renderPlan(KIND, plan, notes, flags['dry-run']))
    if (flags['dry-run']) return this.done('planned', context, plan, notes)
    if (!(await confirm(`This stops the node and replaces everything in ${context.stale.map((entry) => entry.replica).join(', ')} with a copy of ${context.authoritative}.`, {yes: flags.yes}))) {
      this.error(process.stdin.isTTY ? 'not confirmed: nothing was changed' : 'no terminal to confirm on: add --yes to go ahead (nothing was changed)', {exit: 2})
    }

    await runWithProgress(style, steps, log, (onEvent) => new Runbook({kind: KIND, stateDir, steps, onEvent, now: this.deps.now}).start(context))
    return this.done('healed', context, plan, notes)
  }

  private async done(action: HealResult['action'], context: HealContext, plan: PlanEntry[], notes: string[]): Promise<HealResult> {
    const {downtime} = await import('../chironfs/heal.js')
    const result: HealResult = {action, plan, notes, authoritative: context.authoritative, stale: context.stale, dataVersion: context.atStop?.dataVersion ?? null, downtimeSeconds: downtime(context)}
    if (!this.jsonEnabled() && (action === 'healed' || action === 'resumed')) {
      this.log(`Done: ${context.stale.map((entry) => entry.replica).join(', ')} now ${context.stale.length === 1 ? 'holds' : 'hold'} the same data as ${context.authoritative}${result.dataVersion === null ? '' : ` (data_version ${result.dataVersion})`}; ChironFS writes to every replica again.`)
      if (result.downtimeSeconds !== null) this.log(`The node was down for ${result.downtimeSeconds.toFixed(1)} s.`)
      this.log('Next: lnstore status')
    } else if (!this.jsonEnabled() && action === 'aborted') {
      this.log('Aborted: ChironFS is mounted as before and the node started again where it ran.')
    }

    return result
  }
}
