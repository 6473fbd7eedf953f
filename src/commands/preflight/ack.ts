import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../../base-command.js'
import {acceptCurrentData, describeAcceptance, preflight} from '../../preflight/preflight.js'
import {operator} from '../../preflight/who.js'
import {confirm} from '../../runbook/confirm.js'
import {storageBackend} from '../../storage/load.js'

export interface AckResult {
  pool: string
  /** What was accepted: rollbacks and rewinds from the pool's history, a lower data_version, a damaged record. */
  accepted: string[]
  by: string
  at: number
}

export default class PreflightAck extends BaseCommand {
  static summary = 'Accept the node data as it is now, so that preflight passes again; records who and when.'

  static description = `Use it only after making sure the node data is the newest the node wrote (a rolled-back or rewound dataset, or a database put back from a copy, may hold an old channel state). It acknowledges the rollbacks and rewinds preflight found in the pool's history, sets lnstore's record of the highest data_version to the database's current value, and replaces a damaged record (kept beside it for inspection).`

  static examples = [{command: 'sudo <%= config.bin %> <%= command.id %>', description: 'Show what would be accepted, and ask.'}, {command: 'sudo <%= config.bin %> <%= command.id %> --yes', description: 'Accept without asking (scripts).'}]

  static flags = {
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts).'}),
  }

  async run(): Promise<AckResult> {
    const {flags} = await this.parse(PreflightAck)
    const {config, stateDir} = await this.loadConfig(flags)
    const backend = await storageBackend(config)
    const missing = backend.missingSetup(config)
    if (missing.length > 0) this.error(`lnstore is not set up for this node: the config names no ${missing.join(' and ')} (see lnstore init)`, {exit: 2})
    const by = operator()
    const checked = await preflight(this.deps, {config, stateDir, by})
    const accepted = describeAcceptance(checked)
    const pool = backend.scope(config)
    if (accepted.length === 0) {
      this.log('nothing to accept: preflight found no rollback, rewind or older data')
    } else {
      for (const line of accepted) this.log(`  ${line}`)
      if (!(await confirm(`Accept ${config.dataDir} as the newest data the node wrote?`, {yes: flags.yes}))) this.error('not accepted (without a terminal, add --yes)', {exit: 2})
    }

    const at = this.deps.now()
    await acceptCurrentData(stateDir, pool, checked, at, by)
    return {pool, accepted, by, at}
  }
}
