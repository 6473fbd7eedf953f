import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {runMonitor, type MonitorSummary} from '../monitor/run-monitor.js'
import {unevenInterval} from '../schedule/calendar.js'
import {parseDuration} from '../storage/units.js'

export default class Monitor extends BaseCommand {
  static summary = 'Run as a service: a health check every few minutes and the weekly scrub, with mail alerts.'

  static description = `The alternative to \`lnstore schedule install\`'s timers, for those who prefer one service (\`lnstore schedule install --monitor\` installs it as lnstore-monitor.service). Checks health every monitor.checkIntervalMinutes (5) and scrubs weekly at schedule.scrubDay/scrubTime, mailing alerts as \`lnstore status\` does; one line per event on standard output (journald keeps them). One monitor at a time. SIGTERM or SIGINT stops it cleanly.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'Run in the foreground (Ctrl-C stops it).'},
    {command: '<%= config.bin %> <%= command.id %> --interval 1m', description: 'Check every minute.'},
  ]

  static flags = {
    pool: Flags.string({char: 'p', description: "Only these pools (repeatable). Default: the config's pools, else all.", multiple: true, env: 'LNSTORE_POOL'}),
    interval: Flags.string({description: 'Time between health checks: 30s, 5m, 1h ... (default: monitor.checkIntervalMinutes).', env: 'LNSTORE_MONITOR_INTERVAL'}),
  }

  async run(): Promise<MonitorSummary> {
    const {flags} = await this.parse(Monitor)
    const {config, stateDir} = await this.loadConfig(flags)
    const seconds = flags.interval === undefined ? config.monitor.checkIntervalMinutes * 60 : parseDuration(flags.interval)
    if (seconds === null || seconds <= 0) this.error(`--interval must be a duration such as 30s, 5m or 1h, not ${flags.interval}`)
    const uneven = unevenInterval(seconds)
    if (uneven) this.error(`--interval must repeat evenly on the clock: ${uneven}`)

    const controller = new AbortController()
    const stop = (signal: NodeJS.Signals) => controller.abort(signal)
    process.once('SIGTERM', stop).once('SIGINT', stop)
    try {
      return await runMonitor(this.deps, {config, stateDir, pools: flags.pool ?? [], checkEverySeconds: seconds, log: (line) => this.log(line), signal: controller.signal})
    } finally {
      process.off('SIGTERM', stop).off('SIGINT', stop)
    }
  }
}
