import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../base-command.js'
import {TIME_OF_DAY, WEEKDAYS} from '../../schedule/calendar.js'
import {carryOut, changeFlags, pathFlags, scheduleEnvironment, type ScheduleChange} from '../../schedule/cli.js'
import {planInstall, unitEnvironment} from '../../schedule/plan.js'

export default class ScheduleInstall extends BaseCommand {
  static summary = 'Install the weekly scrub and the periodic health check: systemd timers (or cron, or the monitor service), and a ZED hook.'

  static description = `Writes the files from lnstore's templates: systemd timers where systemd runs (--cron: an /etc/cron.d file; --monitor: one service running \`lnstore monitor\`), and where ZED runs a zedlet that checks at once on device faults. Day and time come from the config (schedule.*) or the flags. Running it again changes only what differs; \`lnstore schedule remove\` takes back exactly what it wrote.

Where Debian's /etc/cron.d/zfsutils-linux would scrub the pools a second time each month, it sets org.debian:periodic-scrub=disable on them (remove restores the old value); OpenZFS's zfs-scrub-*@.timer units and ZED's own mail are reported.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --dry-run', description: 'Show exactly what would be written and run.'},
    {command: '<%= config.bin %> <%= command.id %> --day sat --time 02:30 --yes', description: 'Scrub on Saturdays at 02:30, without asking.'},
    {command: '<%= config.bin %> <%= command.id %> --cron', description: 'Use /etc/cron.d instead of systemd timers.'},
  ]

  static flags = {
    ...pathFlags,
    ...changeFlags,
    cron: Flags.boolean({description: 'An /etc/cron.d file instead of systemd timers.', exclusive: ['systemd', 'monitor']}),
    systemd: Flags.boolean({description: 'systemd timers (the default where systemd runs).', exclusive: ['cron', 'monitor']}),
    monitor: Flags.boolean({description: 'One systemd service running `lnstore monitor` instead of timers.', exclusive: ['cron', 'systemd']}),
    zed: Flags.boolean({description: "Install the zedlet (default: where ZED's directory exists); --no-zed leaves it out.", allowNo: true}),
    day: Flags.string({description: 'Day of the weekly scrub (default: schedule.scrubDay, sun).', options: [...WEEKDAYS], env: 'LNSTORE_SCRUB_DAY'}),
    time: Flags.string({description: 'Local time of the weekly scrub, HH:MM (default: schedule.scrubTime, 03:00).', env: 'LNSTORE_SCRUB_TIME'}),
    'random-delay': Flags.integer({description: 'Start the scrub up to this many minutes later (default: schedule.randomDelayMinutes, 60).', min: 0, max: 1440, env: 'LNSTORE_SCRUB_RANDOM_DELAY'}),
    // No -p and not LNSTORE_POOL: elsewhere those choose the pools to check or scrub, here whose Debian scrub to turn off.
    pool: Flags.string({description: "Pools whose Debian monthly scrub to turn off (default: the config's, else all).", multiple: true}),
  }

  async run(): Promise<ScheduleChange> {
    const {flags} = await this.parse(ScheduleInstall)
    if (flags.time !== undefined && !TIME_OF_DAY.test(flags.time)) this.error(`--time must be HH:MM (24 h), not ${flags.time}`)
    const {config, source, stateDir} = await this.loadConfig(flags)
    const environment = await scheduleEnvironment(flags, stateDir)
    const plan = await planInstall(this.deps, {
      ...environment,
      config,
      configFile: source,
      kind: flags.cron ? 'cron' : flags.monitor ? 'monitor' : flags.systemd ? 'systemd' : undefined,
      zed: flags.zed,
      day: flags.day as (typeof WEEKDAYS)[number] | undefined,
      time: flags.time,
      randomDelayMinutes: flags['random-delay'],
      pools: flags.pool ?? [],
      environment: unitEnvironment(flags.config, config),
    })
    return carryOut(this.deps, plan, {stateDir, dryRun: flags['dry-run'], yes: flags.yes, question: 'Install this schedule?', log: (text) => this.log(text)})
  }
}
