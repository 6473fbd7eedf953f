import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {cliRun, type CliRun} from '../support/cli.js'
import {backend, ensureZfs} from '../support/zfs-sandbox.js'

/**
 * Root runs only root-owned code: `schedule install` and `preflight install` refuse (exit 2, naming
 * the path and the fix) when lnstore's files, node or the config are writable by others, and
 * `status` warns. Each case runs a copy of the built package in a temporary directory, so the
 * checkout's own modes are never touched: its files are hard links (their modes are not changed),
 * its directories new ones (their modes are what the cases change).
 */
describe(`lnstore refuses to hand root code that others can change (${backend})`, function () {
  const checkout = fileURLToPath(new URL('../../', import.meta.url))
  const root = mkdtempSync(join(tmpdir(), 'lnstore-trust-'))
  const dirs = {systemd: join(root, 'etc/systemd/system'), cron: join(root, 'etc/cron.d'), zed: join(root, 'etc/zfs/zed.d')}
  const env = {LNSTORE_STATE_DIR: join(root, 'state'), LNSTORE_SYSTEMD_DIR: dirs.systemd, LNSTORE_CRON_DIR: dirs.cron, LNSTORE_ZED_DIR: dirs.zed, NO_COLOR: '1'}
  const config = join(root, 'config.json')
  const copy = join(root, 'lnstore')
  /** A group that is not root's: what a writable node_modules is shared with. */
  const OTHER_GROUP = 100

  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): CliRun => {
    const result = spawnSync(process.execPath, [join(copy, 'bin', 'run.js'), ...args], {encoding: 'utf8', env: {...process.env, ...env, ...extraEnv}})
    return cliRun(result.status, result.stdout, result.stderr)
  }

  const written = () => Object.values(dirs).flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []))

  before(function () {
    if (process.getuid?.() !== 0) this.skip() // Ownership is root's to give: scripts/test.sh runs as root.
    for (const dir of Object.values(dirs)) mkdirSync(dir, {recursive: true})
    writeFileSync(config, JSON.stringify({schedule: {scrubDay: 'sat'}}))
    chmodSync(config, 0o600)
    mkdirSync(copy, {mode: 0o755})
    for (const name of ['bin', 'dist', 'templates', 'package.json', 'oclif.manifest.json']) cpSync(join(checkout, name), join(copy, name), {recursive: true})
    // node_modules: new directories, files hard-linked to the checkout's (cp -al; only directory modes change below).
    const linked = spawnSync('cp', ['-al', join(checkout, 'node_modules'), join(copy, 'node_modules')], {encoding: 'utf8'})
    expect(linked.status, linked.stderr).to.equal(0)
  })

  it('a root-owned copy installs (--dry-run): the cases below differ from it in one mode only', () => {
    const dryRun = run(['schedule', 'install', '--systemd', '--dry-run', '--no-zed', '--config', config])
    expect(dryRun.status, dryRun.stderr).to.equal(0)
    expect(dryRun.stdout).to.contain(`ExecStart=${process.execPath} ${join(copy, 'bin', 'run.js')} status`)
  })

  it('a world-writable checkout: schedule install and preflight install refuse, exit 2, naming it and the fix', () => {
    chmodSync(copy, 0o777)
    try {
      const refused = run(['schedule', 'install', '--systemd', '--yes', '--no-zed', '--config', config])
      expect(refused.status, refused.stderr).to.equal(2)
      expect(refused.errors).to.contain('refusing to install the schedule: root would run code that others can change:')
      expect(refused.errors).to.contain(`${copy}: writable by everyone (mode 0777); fix: chmod o-w ${copy}`)
      const gate = run(['preflight', 'install', '--systemd-dir', dirs.systemd, '--yes', '--config', config])
      expect(gate.status, gate.stderr).to.equal(2)
      expect(gate.errors).to.contain(`refusing to install the start gate`)
      expect(gate.errors).to.contain(`fix: chmod o-w ${copy}`)
      expect(written()).to.deep.equal([])
    } finally {
      chmodSync(copy, 0o755)
    }
  })

  it('a group-writable node_modules (not group root): refused, exit 2, even for --dry-run', () => {
    const modules = join(copy, 'node_modules')
    chownSync(modules, 0, OTHER_GROUP)
    chmodSync(modules, 0o775)
    try {
      const refused = run(['schedule', 'install', '--cron', '--dry-run', '--no-zed', '--config', config])
      expect(refused.status, refused.stderr).to.equal(2)
      expect(refused.errors).to.contain(`${modules}: writable by group ${OTHER_GROUP} (mode 0775); fix: chmod g-w ${modules}`)
      expect(refused.stdout).to.equal('')
    } finally {
      chmodSync(modules, 0o755)
      chownSync(modules, 0, 0)
    }
  })

  it('a file deep inside dist/ owned by another user: refused, naming that file', () => {
    const file = join(copy, 'dist', 'commands', 'status.js')
    chownSync(file, 1000, 1000)
    try {
      const refused = run(['schedule', 'install', '--cron', '--dry-run', '--no-zed', '--config', config])
      expect(refused.status, refused.stderr).to.equal(2)
      expect(refused.errors).to.contain(`${file}: owned by uid 1000, not root; fix: chown root:root ${file}`)
    } finally {
      chownSync(file, 0, 0)
    }
  })

  it('a config others can write: install refuses it; status, run as root, warns with the fix', async () => {
    chmodSync(config, 0o666)
    try {
      const refused = run(['schedule', 'install', '--systemd', '--dry-run', '--no-zed', '--config', config])
      expect(refused.status, refused.stderr).to.equal(2)
      expect(refused.errors).to.contain(`${config}: writable by everyone (mode 0666); fix: chmod o-w ${config}`)

      await ensureZfs()
      const status = run(['status', '--json', '--no-alert', '--config', config])
      const finding = status.json().findings.find((candidate: {message: string}) => candidate.message.startsWith('root runs code that others can change'))
      expect(finding, status.stdout).to.deep.equal({
        verdict: 'WARNING',
        message: `root runs code that others can change: ${config} (writable by everyone (mode 0666)); \`schedule install\` and \`preflight install\` refuse it`,
        next: `chmod o-w ${config}`,
      })
      expect(status.json().verdict, 'a WARNING at least').to.be.oneOf(['WARNING', 'CRITICAL', 'UNKNOWN'])
    } finally {
      chmodSync(config, 0o600)
    }

    const fixed = run(['status', '--json', '--no-alert', '--config', config])
    expect(fixed.json().findings.map((finding: {message: string}) => finding.message).join('\n')).to.not.contain('root runs code')
  })
})
