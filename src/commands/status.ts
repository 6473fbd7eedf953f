import * as Flags from '@oclif/core/flags'
import {readFileSync} from 'node:fs'
import {text} from 'node:stream/consumers'

import type {AlertOutcome} from '../alerts/outbox.js'
import {alertsConfigured} from '../alerts/smtp.js'
import {BaseCommand} from '../base-command.js'
import {stdoutIsTerminal} from '../cli/terminal.js'
import type {StorageBackend} from '../storage/backend.js'
import {storageBackend, zfsBackend} from '../storage/load.js'
import type {StatusResult} from '../storage/view.js'
import {renderStatus} from '../status/render.js'
import {writeFileAtomically} from '../state/json-file.js'

export const EXIT_CODES = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3} as const

export default class Status extends BaseCommand {
  static summary = 'Tell whether the pools (or, in mode chironfs, the replicas) holding the node data are safe, and if not, what to do.'

  static description = `Reads \`zpool status\` (JSON on OpenZFS 2.3+, exact numbers where supported, text elsewhere), records each device's error counters in lnstore's history, and judges every pool and device: OK, WARNING, CRITICAL or UNKNOWN, each with reasons and the command to run next.

In mode chironfs (config \`mode: chironfs\`) it checks each ChironFS replica instead: that it answers (in a child process with a timeout, so a dead NFS server cannot hang it), is writable and has room; what ChironFS itself says (control socket or files, and its log); whether the replicas still hold the same files and the same node database (data_version), confirmed by a second look; and the NFS replica's mount options.

Exit codes, as Nagios/Icinga plugins use them: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the pools could not be read).`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'Check every watched pool.'},
    {command: '<%= config.bin %> <%= command.id %> --pool tank --json', description: 'One pool, as JSON for scripts.'},
    {command: 'ssh node zpool status | <%= config.bin %> <%= command.id %> --input -', description: "Judge another machine's saved output."},
    {command: '<%= config.bin %> <%= command.id %> --prometheus /var/lib/node_exporter/textfile/lnstore.prom', description: 'Also write node_exporter textfile metrics.'},
  ]

  static flags = {
    help: Flags.help({char: 'h', description: 'Show this help (as monitoring plugins take -h).'}),
    pool: Flags.string({char: 'p', description: 'Only this pool (repeatable). Default: the config\'s pools, else all.', multiple: true, env: 'LNSTORE_POOL'}),
    input: Flags.string({char: 'i', description: 'Read saved `zpool status` output (text or -j JSON) from FILE, or - for standard input, instead of running zpool.', helpValue: 'FILE|-'}),
    prometheus: Flags.string({description: 'Also write node_exporter textfile metrics to FILE (atomically).', helpValue: 'FILE', env: 'LNSTORE_PROMETHEUS_FILE'}),
    alert: Flags.boolean({description: 'Mail alerts about what changed, when alerts are configured (--no-alert: only look). Never with --input.', default: true, allowNo: true, env: 'LNSTORE_ALERT'}),
  }

  static failureExitCode = EXIT_CODES.UNKNOWN

  protected async catch(error: Parameters<BaseCommand['catch']>[0]): Promise<unknown> {
    // Monitoring plugins read the first line of standard output: it must say UNKNOWN and why.
    if (!this.jsonEnabled() && (error as {code?: string}).code !== 'EEXIT') this.log(`UNKNOWN: ${error.message.split('\n')[0]}`)
    return super.catch(error)
  }

  async run(): Promise<StatusResult & {alerts?: AlertOutcome}> {
    const {flags} = await this.parse(Status)
    let checked: {result: StatusResult; alerts?: AlertOutcome; renderPool?: StorageBackend['renderPool']}
    try {
      checked = await this.check(flags)
    } catch (error) {
      // The textfile must not keep an old verdict while the check cannot run.
      if (flags.prometheus) {
        const {renderPrometheusFailure} = await import('../status/prometheus.js')
        await this.writeMetrics(flags.prometheus, renderPrometheusFailure(this.deps.now()))
      }

      throw error
    }

    const {result, alerts, renderPool} = checked
    process.exitCode = EXIT_CODES[result.verdict]
    if (!this.jsonEnabled()) {
      this.log(renderStatus(result, {color: stdoutIsTerminal() && !process.env.NO_COLOR, now: result.checkedAt, renderPool}))
    }

    // After the verdict is out: a metrics file that cannot be written must not hide it.
    if (flags.prometheus) {
      const {renderPrometheus} = await import('../status/prometheus.js')
      await this.writeMetrics(flags.prometheus, renderPrometheus(result))
    }

    return alerts ? {...result, alerts} : result
  }

  private async check(flags: {config?: string; input?: string; pool?: string[]; alert: boolean}): Promise<{result: StatusResult; alerts?: AlertOutcome; renderPool?: StorageBackend['renderPool']}> {
    const {config, source, stateDir} = await this.loadConfig(flags)
    const input = flags.input
    const pools = flags.pool ?? []
    // Saved output is `zpool status` output, whatever this machine's mode.
    const backend = input === undefined ? await storageBackend(config) : zfsBackend()
    const options = {config, stateDir, pools, configFile: source, input: input === undefined ? undefined : {name: input, read: async () => (input === '-' ? text(process.stdin) : readFileSync(input, 'utf8'))}}
    if (input === undefined && flags.alert && alertsConfigured(config.alerts)) {
      // Loaded only when mail is configured: start-up time is budgeted.
      const {checkAndAlert} = await import('../alerts/check.js')
      const check = await checkAndAlert(this.deps, {config, stateDir, pools, log: (line) => this.logToStderr(line), check: () => backend.status(this.deps, options)})
      if (check.error || !check.status) throw check.error
      return {result: check.status, alerts: check.alerts, renderPool: backend.renderPool}
    }

    return {result: await backend.status(this.deps, options), renderPool: backend.renderPool}
  }

  /** Writes the textfile; a failure is reported on stderr and leaves the verdict and exit code as they are. */
  private async writeMetrics(file: string, metrics: string): Promise<void> {
    try {
      // node_exporter reads it as its own user; it holds verdicts and counters, nothing secret.
      await writeFileAtomically(file, metrics, 0o644)
    } catch (error) {
      this.logToStderr(
        `lnstore: cannot write the Prometheus metrics to ${file} (${(error as Error).message}); node_exporter keeps showing the previous check (watch lnstore_check_timestamp_seconds); check that the directory exists and is writable`,
      )
    }
  }

  protected toErrorJson(error: unknown): unknown {
    return {verdict: 'UNKNOWN', ...(super.toErrorJson(error) as object)}
  }
}
