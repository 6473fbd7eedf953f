import * as Flags from '@oclif/core/flags'
import {join} from 'node:path'

import {BaseCommand} from '../base-command.js'
import type {DemoReport} from '../demo/context.js'

export default class Demo extends BaseCommand {
  static summary = 'Watch lnstore keep a Lightning node safe, for real, in a throwaway sandbox (about a minute).'

  static description = `Needs no spare disk and no node. In a temporary directory it makes a real ZFS mirror of two files (the kernel module when loaded, else zfs-fuse, started if needed), starts a Lightning node writing to its database on it (the real lightningd on a regtest chain of its own when the prebuilt Core Lightning is at hand: ../shared/prebuilt/cln beside the checkout, or LNSTORE_CLN_TARBALL and LNSTORE_FAKE_BITCOIN_CLI; else a stand-in, saying what is missing), corrupts one disk and lets lnstore scrub find and repair it, shows lnstore status and the alert mail (delivered to a mail server inside the demo), replaces the disk with lnstore replace-disk around the running node and proves every write is still there, then puts an older copy of the database in place and shows lnstore preflight refusing to start the node. Then it removes everything (also on Ctrl-C).

Exit codes: 0 every step passed, 1 a step failed (the report says which and why).`

  static examples = [
    {command: 'sudo <%= config.bin %> <%= command.id %>', description: 'Run the demo.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --keep', description: 'Leave the sandbox (pool, files, state) for exploring.'},
    {command: 'sudo <%= config.bin %> <%= command.id %> --json', description: "Each step's result, for scripts."},
  ]

  static flags = {
    keep: Flags.boolean({description: 'Leave the sandbox (its pool, files and lnstore state) for exploring; says how to remove it.'}),
  }

  async run(): Promise<DemoReport> {
    const {flags} = await this.parse(Demo)
    if (process.getuid?.() !== 0) this.error('the demo creates a real ZFS pool (on files in a temporary directory): run it as root (sudo lnstore demo)', {exit: 2})
    const {runDemo} = await import('../demo/run-demo.js')
    const json = this.jsonEnabled()
    const report = await runDemo(this.deps, {
      lnstore: [process.execPath, join(this.config.root, 'bin', 'run.js')],
      keep: flags.keep,
      show: !json,
      out: json ? () => {} : (line) => this.log(line),
    })
    if (!json) this.log(render(report))
    process.exitCode = report.passed ? 0 : 1
    return report
  }
}

function render(report: DemoReport): string {
  const lines = ['', '== Summary']
  for (const step of report.steps) lines.push(`  ${step.result.padEnd(7)} ${String(step.seconds).padStart(5)} s  ${step.title}`)
  lines.push('', report.passed ? 'Every step passed.' : 'A step failed: its lines above say why.')
  lines.push(
    '',
    'On your own machine (look first: --dry-run shows every command and changes nothing):',
    '  sudo lnstore init --mirror /dev/disk/by-id/DISK1 /dev/disk/by-id/DISK2 --user bitcoin --dry-run',
    '  sudo lnstore schedule install      # weekly scrub, hourly health check, the ZED hook',
    '  sudo lnstore preflight install     # never start the node on data older than it last wrote',
    '  sudo lnstore alert test            # once alerts: in the config has your mail server',
    '  lnstore status',
  )
  return lines.join('\n')
}
