import * as Flags from '@oclif/core/flags'
import {realpathSync} from 'node:fs'

import {BaseCommand} from '../../base-command.js'
import {planDropIn, removeDropIn, writeDropIn} from '../../preflight/install.js'
import {confirm} from '../../runbook/confirm.js'

export interface PreflightInstallResult {
  action: 'planned' | 'installed' | 'unchanged' | 'removed'
  path: string
  content: string
  notes: string[]
}

export default class PreflightInstall extends BaseCommand {
  static summary = "Make `lnstore preflight` the node service's start condition (a systemd drop-in)."

  static description = `Writes <unit>.d/lnstore-preflight.conf with ExecStartPre=+lnstore preflight, so systemd refuses to start the node when preflight does. Idempotent; --remove takes it out again. Other init systems and Docker: run \`lnstore preflight\` before starting the node and start it only on exit code 0 (see the README).`

  static examples = [
    {command: 'sudo <%= config.bin %> <%= command.id %> --dry-run', description: 'Show the drop-in for lightningd.service.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --node-unit cln.service --yes', description: 'Install it for another unit name.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --remove --yes', description: 'Take it out again.'},
  ]

  static flags = {
    // The same flag and variable as replace-disk's and heal's: one name, one meaning, the config's node.unit by default.
    'node-unit': Flags.string({description: "The node's systemd unit. Default: node.unit from the config (lightningd).", aliases: ['unit'], env: 'LNSTORE_NODE_UNIT'}),
    'systemd-dir': Flags.string({description: 'Where systemd reads local units and drop-ins.', default: '/etc/systemd/system', env: 'LNSTORE_SYSTEMD_DIR'}),
    remove: Flags.boolean({description: 'Remove the drop-in that install wrote.'}),
    'dry-run': Flags.boolean({description: 'Print what would be written and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts).', env: 'LNSTORE_YES'}),
  }

  async run(): Promise<PreflightInstallResult> {
    const {flags} = await this.parse(PreflightInstall)
    // The unit runs this very lnstore, with the same config file when one was named.
    const command = [process.execPath, realpathSync(process.argv[1]), 'preflight', ...(flags.config ? ['--config', flags.config] : [])]
    const unit = flags['node-unit'] ?? (await this.loadConfig(flags, {missingOk: true})).config.node.unit
    const plan = await planDropIn({systemdDir: flags['systemd-dir'], unit, command})
    const result = (action: PreflightInstallResult['action'], notes: string[] = []) => ({action, path: plan.path, content: plan.content, notes})

    if (flags.remove) {
      if (plan.current === 'absent') return result('unchanged', [`${plan.path} is not there`])
      if (!flags['dry-run'] && !(await confirm(`Remove ${plan.path}?`, {yes: flags.yes}))) this.error('not confirmed (without a terminal, add --yes)', {exit: 2})
      if (flags['dry-run']) return result('planned', [`would remove ${plan.path}`])
      return result('removed', await removeDropIn(this.deps, plan.path))
    }

    if (!this.jsonEnabled()) this.log(`${plan.path}:\n${plan.content}`)
    if (plan.current === 'same') return result('unchanged', ['already installed'])
    if (flags['dry-run']) return result('planned')
    const replacing = plan.current === 'different' ? ' (replacing what is there)' : ''
    if (!(await confirm(`Write ${plan.path}${replacing}?`, {yes: flags.yes}))) this.error('not confirmed (without a terminal, add --yes)', {exit: 2})
    const notes = await writeDropIn(this.deps, plan)
    for (const note of notes) this.logToStderr(note)
    return result('installed', notes)
  }
}
