import * as Flags from '@oclif/core/flags'
import {realpathSync} from 'node:fs'

import {BaseCommand} from '../../base-command.js'
import {planDropIn, removeDropIn, unitExists, writeDropIn} from '../../preflight/install.js'
import {preflight} from '../../preflight/preflight.js'
import {operator} from '../../preflight/who.js'
import {confirm} from '../../runbook/confirm.js'
import type {Finding} from '../../storage/verdict.js'
import {unitName} from '../../system/systemd.js'
import {assertRootOwned, lnstoreTargets} from '../../system/trust.js'

export interface PreflightInstallResult {
  action: 'planned' | 'installed' | 'unchanged' | 'removed'
  path: string
  content: string
  notes: string[]
  /** What the gate decides on the data as it is now (run once before installing it). */
  gate?: {verdict: string; safe: boolean; findings: Finding[]}
}

export default class PreflightInstall extends BaseCommand {
  static summary = "Make `lnstore preflight` the node service's start condition (a systemd drop-in)."

  static description = `Writes <unit>.d/lnstore-preflight.conf with ExecStartPre=+lnstore preflight, so systemd refuses to start the node when preflight does, and ExecStopPost=+lnstore preflight record, so every stop records the node's last write. The unit is node.unit from the config unless --node-unit is given, and must exist; the command lines use absolute paths (the config file's too). Before installing, it runs the gate once and says what it would decide now. Idempotent; --remove takes it out again. Other init systems and Docker: run \`lnstore preflight\` before starting the node and start it only on exit code 0, and \`lnstore preflight record\` after it stops (see the README).`

  static examples = [
    {command: 'sudo <%= config.bin %> <%= command.id %> --dry-run', description: 'Show the drop-in for node.unit (lightningd.service), and what the gate decides now.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --node-unit cln.service --yes', description: 'Install it for another unit name.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --remove --yes', description: 'Take it out again.'},
  ]

  static flags = {
    // The same name and variable as replace-disk's and heal's --node-unit: one variable, one flag (--unit still works).
    'node-unit': Flags.string({description: "The node's systemd unit. Default: node.unit from the config (lightningd).", aliases: ['unit'], env: 'LNSTORE_NODE_UNIT'}),
    'systemd-dir': Flags.string({description: 'Where systemd reads local units and drop-ins.', default: '/etc/systemd/system', env: 'LNSTORE_SYSTEMD_DIR'}),
    remove: Flags.boolean({description: 'Remove the drop-in that install wrote.'}),
    'dry-run': Flags.boolean({description: 'Print what would be written and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts).', env: 'LNSTORE_YES'}),
  }

  async run(): Promise<PreflightInstallResult> {
    const {flags} = await this.parse(PreflightInstall)
    const {config, source, stateDir} = await this.loadConfig(flags)
    // The node's every start runs this lnstore as root: it, node and its config must be root's alone.
    if (!flags.remove) assertRootOwned(lnstoreTargets(source, true), 'install the start gate')
    const unit = flags['node-unit'] ?? config.node.unit
    // The unit runs this very lnstore, with the config file it loaded now.
    const plan = await planDropIn({systemdDir: flags['systemd-dir'], unit, lnstore: [process.execPath, realpathSync(process.argv[1])], config: source})
    let gate: PreflightInstallResult['gate']
    const result = (action: PreflightInstallResult['action'], notes: string[] = []) => ({action, path: plan.path, content: plan.content, notes, ...(gate ? {gate} : {})})

    if (flags.remove) {
      if (plan.current === 'absent') return result('unchanged', [`${plan.path} is not there`])
      if (!flags['dry-run'] && !(await confirm(`Remove ${plan.path}?`, {yes: flags.yes}))) this.error('not confirmed (without a terminal, add --yes)', {exit: 2})
      if (flags['dry-run']) return result('planned', [`would remove ${plan.path}`])
      return result('removed', await removeDropIn(this.deps, plan.path))
    }

    if (!(await unitExists(this.deps, flags['systemd-dir'], unit))) {
      this.error(`systemd has no unit ${unitName(unit)}: the start gate would guard nothing`, {exit: 2, suggestions: ['set node.unit in the config to the unit that runs lightningd (or give --unit), then run this again']})
    }

    // What the gate decides on the data now: an operator should not learn it from a node that will not start.
    const checked = await preflight(this.deps, {config, stateDir, by: operator()})
    gate = {verdict: checked.verdict, safe: checked.safe, findings: checked.findings}
    if (checked.verdict === 'UNKNOWN') {
      this.error(`the gate cannot check this node: ${checked.findings.map((finding) => finding.message).join('; ')}`, {exit: 2, suggestions: [...new Set(checked.findings.flatMap((finding) => (finding.next ? [finding.next] : [])))]})
    }

    if (!this.jsonEnabled()) {
      this.log(checked.safe ? `the gate now: the node may start (${checked.verdict})` : `the gate now: DO NOT START the node (${checked.verdict}); once installed, ${unitName(unit)} will not start until this is fixed:`)
      for (const finding of checked.findings) this.log(`  ${finding.verdict.padEnd(8)} ${finding.message}${finding.next ? `\n           next: ${finding.next}` : ''}`)
      this.log(`${plan.path}:\n${plan.content}`)
    }

    if (plan.current === 'same') return result('unchanged', ['already installed'])
    if (flags['dry-run']) return result('planned')
    const replacing = plan.current === 'different' ? ' (replacing what is there)' : ''
    if (!(await confirm(`Write ${plan.path}${replacing}?`, {yes: flags.yes}))) this.error('not confirmed (without a terminal, add --yes)', {exit: 2})
    const notes = await writeDropIn(this.deps, plan)
    for (const note of notes) this.logToStderr(note)
    return result('installed', notes)
  }
}
