import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../base-command.js'
import {preflight, type PreflightResult} from '../../preflight/preflight.js'
import {operator} from '../../preflight/who.js'
import type {Finding} from '../../storage/verdict.js'

export default class Preflight extends BaseCommand {
  static summary = "Decide whether the Lightning node may start on its data: exit 0 only when it is safe."

  static description = `Install it as the node service's start condition (\`lnstore preflight install\`). It refuses (exit 2) when the data directory is not the mounted dataset, the pool is not imported, SUSPENDED or has no redundant copy left (unless allowDegradedStart), the dataset is read-only or has sync=disabled, the database fails SQLite's quick_check, its data_version is lower than the highest lnstore has seen (the data was rolled back or replaced by an older copy), the two database copies of wallet=sqlite3://main:backup disagree, or the pool's history shows a rollback or rewind not yet acknowledged. In mode chironfs: when ChironFS is not mounted at the data directory, or a replica is behind, disabled or unreachable (unless allowDegradedStart), with the same database checks through the mount. Exit 3 when it cannot tell (not set up, ZFS not answering): a start gate that cannot check does not open. A refusal is mailed when alerts are configured.`

  static examples = [
    {command: 'sudo <%= config.bin %> <%= command.id %>', description: 'May the node start now?'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --json', description: 'The same, as JSON.'},
  ]

  static flags = {
    help: Flags.help({char: 'h', description: 'Show this help (as monitoring plugins take -h).'}),
  }

  static failureExitCode = 3

  async run(): Promise<PreflightResult> {
    const {flags} = await this.parse(Preflight)
    const {config, stateDir} = await this.loadConfig(flags)
    const result = await preflight(this.deps, {config, stateDir, by: operator()})
    process.exitCode = result.safe ? 0 : result.verdict === 'UNKNOWN' ? 3 : 2
    if (!this.jsonEnabled()) this.log(render(result))
    if (!result.safe) {
      // Loaded only on a refusal: the mail modules cost every start of the node otherwise.
      const {alertRefusal} = await import('../../preflight/alert.js')
      await alertRefusal(this.deps, config, stateDir, result, (line) => this.logToStderr(line))
    }
    return result
  }
}

function render(result: PreflightResult): string {
  const lines = [result.safe ? `lnstore preflight: the node may start (${result.verdict})` : `lnstore preflight: DO NOT START the node (${result.verdict})`]
  const line = (finding: Finding) => [`  ${finding.verdict.padEnd(8)} ${finding.message}`, ...(finding.next ? [`           next: ${finding.next}`] : [])]
  return [...lines, ...result.findings.flatMap(line)].join('\n')
}
