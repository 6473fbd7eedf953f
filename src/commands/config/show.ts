import {BaseCommand} from '../../base-command.js'
import {maskSecrets, type Config} from '../../config/schema.js'

export interface ConfigShowResult {
  /** The file the config came from; null when no file exists and the defaults apply. */
  source: string | null
  stateDir: string
  config: Config
}

export default class ConfigShow extends BaseCommand {
  static summary = 'Print the effective configuration (defaults filled in, secrets masked).'

  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'The configuration lnstore would use now.'},
    {command: '<%= config.bin %> <%= command.id %> --config ./lnstore.yaml --json', description: 'Check a file before installing it.'},
  ]

  async run(): Promise<ConfigShowResult> {
    const {flags} = await this.parse(ConfigShow)
    const {config, source, stateDir} = await this.loadConfig(flags)
    const result = {source, stateDir, config: maskSecrets(config) as Config}
    this.log(`# from: ${source ?? 'built-in defaults (no config file found)'}\n# state directory: ${stateDir}`)
    this.log(JSON.stringify(result.config, null, 2))
    return result
  }
}
