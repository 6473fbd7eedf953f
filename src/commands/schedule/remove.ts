import {BaseCommand} from '../../base-command.js'
import {carryOut, changeFlags, pathFlags, scheduleEnvironment, type ScheduleChange} from '../../schedule/cli.js'
import {planRemove} from '../../schedule/plan.js'

export default class ScheduleRemove extends BaseCommand {
  static summary = 'Remove exactly what `lnstore schedule install` wrote, and restore the pool properties it changed.'

  static description = 'Reads the record install kept in the state directory: disables the units it enabled, removes the files it wrote (a file changed since is left in place, with a note) and sets org.debian:periodic-scrub back to what it was.'

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --dry-run', description: 'Show what would be removed and run.'},
    {command: '<%= config.bin %> <%= command.id %> --yes', description: 'Remove without asking.'},
  ]

  static flags = {...pathFlags, ...changeFlags}

  async run(): Promise<ScheduleChange> {
    const {flags} = await this.parse(ScheduleRemove)
    const {stateDir} = await this.loadConfig(flags)
    const plan = await planRemove(this.deps, await scheduleEnvironment(flags, stateDir))
    return carryOut(this.deps, plan, {stateDir, dryRun: flags['dry-run'], yes: flags.yes, question: 'Remove the schedule?', log: (text) => this.log(text)})
  }
}
