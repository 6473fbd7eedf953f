import {BaseCommand} from '../../base-command.js'
import {recordLastWrite, type RecordResult} from '../../preflight/record.js'
import {operator} from '../../preflight/who.js'

export default class PreflightRecord extends BaseCommand {
  static summary = "Record the node's last write (its database's data_version) off the pool; run it each time the node stops."

  static description = `The start gate (\`lnstore preflight\`) refuses a database older than the highest data_version lnstore recorded. \`lnstore preflight install\` runs this from the node unit's ExecStopPost=, so every stop of the node is recorded; with cron or the commands node kind, run it right after the node stops (for example in the stop command: \`lightning-cli stop && lnstore preflight record\`). Never lowers the record. Exit 2 when the database holds less than lnstore saw before (rolled back while the node ran, or replaced).`

  static examples = [
    {command: 'sudo <%= config.bin %> <%= command.id %>', description: 'Record what the stopped node last wrote.'},
    {command: "lightning-cli stop && while pgrep -x lightningd >/dev/null; do sleep 1; done && sudo <%= config.bin %> <%= command.id %>", description: 'In a stop command of your own.'},
  ]

  async run(): Promise<RecordResult> {
    const {flags} = await this.parse(PreflightRecord)
    const {config, stateDir} = await this.loadConfig(flags)
    const result = await recordLastWrite(this.deps, config, stateDir, operator())
    if (result.wentBackwards) process.exitCode = 2
    if (!this.jsonEnabled()) {
      if (!result.database) this.log(`no node database in ${config.dataDir}/${config.node.network}: nothing to record`)
      else if (result.wentBackwards) this.log(`${result.database}: data_version ${result.dataVersion} is LOWER than the ${result.previous} lnstore saw: not recorded; run lnstore preflight before starting the node`)
      else this.log(`recorded ${result.database}: data_version ${result.dataVersion} (before: ${result.previous ?? 'none'})`)
    }

    return result
  }
}
