import {BaseCommand} from '../base-command.js'
import type {HealContext} from '../chironfs/heal.js'
import {NO_DATA_DIR, nodeFlags, nodeSettingsFromFlags} from '../node/flags.js'
import {downtimeSeconds} from '../node/steps.js'
import {requireRunbook, runbookEnvelope, runbookFlags, type RunbookAction} from '../runbook/command.js'
import type {PlanEntry} from '../runbook/engine.js'

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
    ...runbookFlags({abort: 'Stop the run: mount ChironFS and start the node again when safe.'}),
  }

  async run(): Promise<HealResult> {
    const {flags} = await this.parse(Heal)
    const runbook = runbookEnvelope(this.runbookOutput(), {kind: 'heal', needsRoot: 'heal unmounts ChironFS and stops the node', flags})
    const {config, stateDir} = await this.loadConfig(flags)
    await requireRunbook(config, 'heal')
    const {healSteps} = await import('../chironfs/heal.js')
    return runbook.run<HealContext, HealResult>({
      stateDir,
      steps: (context) => healSteps(this.deps, context),
      plan: async () => {
        const node = nodeSettingsFromFlags(config, flags)
        if (!node) this.error(NO_DATA_DIR, {exit: 2})
        const {prepareHeal} = await import('../chironfs/prepare-heal.js')
        const {context, steps, plan, notes} = await prepareHeal(this.deps, {config, stateDir, node})
        if (!context) {
          if (!this.jsonEnabled()) this.log(`Nothing to heal: ${notes.join('; ')}.`)
          return {nothingToDo: {action: 'nothing-to-do', plan, notes, authoritative: null, stale: [], dataVersion: null, downtimeSeconds: null}}
        }

        if (flags['stop-timeout']) context.stopTimeoutSeconds = flags['stop-timeout']
        const stale = context.stale.map((entry) => entry.replica).join(', ')
        return {context, steps, plan, notes, question: `This stops the node and replaces everything in ${stale} with a copy of ${context.authoritative}.`}
      },
      finish: (action, context, plan, notes) => this.done(action, context, plan, notes),
    })
  }

  private done(action: RunbookAction, context: HealContext, plan: PlanEntry[], notes: string[]): HealResult {
    const result: HealResult = {action: action === 'done' ? 'healed' : action, plan, notes, authoritative: context.authoritative, stale: context.stale, dataVersion: context.atStop?.dataVersion ?? null, downtimeSeconds: downtimeSeconds(context)}
    if (this.jsonEnabled()) return result
    if (action === 'done' || action === 'resumed') {
      this.log(`Done: ${context.stale.map((entry) => entry.replica).join(', ')} now ${context.stale.length === 1 ? 'holds' : 'hold'} the same data as ${context.authoritative}${result.dataVersion === null ? '' : ` (data_version ${result.dataVersion})`}; ChironFS writes to every replica again.`)
      if (result.downtimeSeconds !== null) this.log(`The node was down for ${result.downtimeSeconds.toFixed(1)} s.`)
      this.log('Next: lnstore status')
    } else if (action === 'aborted') {
      this.log('Aborted: ChironFS is mounted as before and the node started again where it ran.')
    }

    return result
  }
}
