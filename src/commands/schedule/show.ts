import {BaseCommand} from '../../base-command.js'
import {pathFlags, scheduleEnvironment} from '../../schedule/cli.js'
import {showSchedule, type ScheduleShow as ShowResult} from '../../schedule/plan.js'
import {renderShow} from '../../schedule/render.js'

export default class ScheduleShow extends BaseCommand {
  static summary = 'Say what `lnstore schedule install` installed, whether its files are as written, and when the scrub and the check run next.'

  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'What is installed and when it runs next.'},
    {command: '<%= config.bin %> <%= command.id %> --json', description: 'The same for scripts (times in epoch milliseconds).'},
  ]

  static flags = {...pathFlags}

  async run(): Promise<ShowResult> {
    const {flags} = await this.parse(ScheduleShow)
    const {stateDir} = await this.loadConfig(flags)
    const show = await showSchedule(this.deps, await scheduleEnvironment(flags, stateDir))
    this.log(renderShow(show))
    return show
  }
}
