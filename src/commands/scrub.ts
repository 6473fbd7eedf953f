import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {progressPrinter} from '../scrub/progress.js'
import {storageBackend} from '../storage/load.js'
import type {ScrubResult} from '../storage/view.js'
import {EXIT_CODES} from './status.js'

/** A scrub that could not start or did not run to its end: the command did not do what was asked. */
const INCOMPLETE = new Set(['refused', 'pool-gone', 'canceled', 'paused', 'preempted'])

export default class Scrub extends BaseCommand {
  static summary = 'Scrub the pools: ZFS reads every copy of every block and repairs bad ones from good ones.'

  static description = `In mode chironfs (ChironFS keeps no checksums) the scrub is lnstore's full comparison of the replicas instead: every file hashed in each, SQLite's integrity check on every copy of the node database, recorded in the history and alerted on; --pool and --wait do not apply (it always runs to its end).

Starts a scrub on each pool (--pool, else the config's pools, else every imported pool), unless a scrub or a resilver already runs there (a resilver is never cancelled). With --wait it follows the scrub with a progress line, records the result in lnstore's history (duration, bytes repaired, errors, which devices gained errors), runs the health check and mails alerts.

Exit codes as for status after --wait: 0 OK, 1 WARNING, 2 CRITICAL; 3 when a scrub could not start or did not finish (refused, pool gone, stopped by someone) or the pools could not be read.`

  static examples = [
    {command: '<%= config.bin %> <%= command.id %> --wait', description: 'Scrub every watched pool and wait for the result (what the weekly timer runs).'},
    {command: '<%= config.bin %> <%= command.id %> --pool tank', description: 'Start a scrub of tank and return at once.'},
    {command: '<%= config.bin %> <%= command.id %> --pool tank --wait --json', description: 'The result as JSON for scripts.'},
  ]

  static flags = {
    pool: Flags.string({char: 'p', description: "Scrub this pool (repeatable). Default: the config's pools, else all.", multiple: true, env: 'LNSTORE_POOL'}),
    wait: Flags.boolean({char: 'w', description: 'Follow the scrub to its end, record it, check health and alert.', env: 'LNSTORE_SCRUB_WAIT'}),
  }

  static failureExitCode = EXIT_CODES.UNKNOWN

  async run(): Promise<ScrubResult> {
    const {flags} = await this.parse(Scrub)
    const {config, stateDir} = await this.loadConfig(flags)
    const quiet = this.jsonEnabled()
    const progress = progressPrinter({tty: Boolean(process.stderr.isTTY), write: (text) => quiet || process.stderr.write(text)})
    const backend = await storageBackend(config)
    const result = await backend.scrub(this.deps, {
      config,
      stateDir,
      pools: flags.pool ?? [],
      wait: flags.wait,
      onProgress: (update) => progress.update(update),
      log: (line) => {
        progress.end()
        this.logToStderr(line)
      },
    })
    progress.end()

    const incomplete = result.pools.some((pool) => INCOMPLETE.has(pool.state)) || result.error !== null
    process.exitCode = incomplete ? EXIT_CODES.UNKNOWN : result.verdict ? EXIT_CODES[result.verdict] : 0
    if (result.pools.length === 0) {
      // A weekly job that scrubs nothing must not look like a job that succeeded.
      process.exitCode = EXIT_CODES.UNKNOWN
      this.log(`nothing scrubbed: ${flags.pool?.length ? 'none of the named pools' : config.pools.length > 0 ? 'none of the config\'s pools' : 'no pool'} is imported; check with zpool list (an exported pool: zpool import <pool>)`)
    }

    for (const pool of result.pools) if (pool.state !== 'finished') this.log(`${pool.state === 'refused' ? 'not started' : pool.state}: ${pool.message}`)
    if (result.error) this.log(`health check failed: ${result.error}`)
    if (result.verdict && result.status) this.log(`health after the scrub: ${result.verdict} (details: lnstore status)`)
    return result
  }
}
