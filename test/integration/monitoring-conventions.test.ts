import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {lnstore} from '../support/cli.js'
import {ensureZfs} from '../support/zfs-sandbox.js'

/** `status` and `preflight` as monitoring plugins (Nagios, Icinga, check_by_ssh) call them: -h is help, a usage error is UNKNOWN. */
describe('monitoring plugin conventions of status and preflight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-plugin-'))
  const env = {LNSTORE_STATE_DIR: dir, LNSTORE_CONFIG: join(dir, 'config.json')}
  before(() => writeFileSync(env.LNSTORE_CONFIG, '{}'))

  for (const command of ['status', 'preflight']) {
    it(`${command} -h shows the help, exit 0`, () => {
      const run = lnstore([command, '-h'], {env})
      expect(run.status, run.stderr).to.equal(0)
      expect(run.stdout).to.contain(`$ lnstore ${command}`)
      expect(run.stdout).to.match(/-h, --help/)
    })

    it(`${command}: every usage error exits 3 (UNKNOWN), never 2 (which a monitor shows as CRITICAL)`, () => {
      for (const args of [['--no-such-flag'], ['extra-argument'], ['--config']]) {
        const run = lnstore([command, ...args], {env})
        expect(run.status, `${command} ${args.join(' ')}: ${run.stderr}`).to.equal(3)
        if (command === 'status') expect(run.stdout.split('\n')[0], args.join(' ')).to.match(/^UNKNOWN: \S/)
      }
    })
  }

  it('status as a user who may not read the pools: says it needs root (not "ZFS is not running"), exit 3', async function () {
    // zfs-fuse refuses a non-root user at its socket; on OpenZFS /dev/zfs may be open to all, then this user may read.
    await ensureZfs()
    const shared = mkdtempSync(join(tmpdir(), 'lnstore-nobody-'))
    chmodSync(shared, 0o777)
    writeFileSync(join(shared, 'config.json'), '{}')
    chmodSync(join(shared, 'config.json'), 0o644)
    const nobody = {uid: 65_534, gid: 65_534}
    const zpool = spawnSync('zpool', ['status'], {encoding: 'utf8', ...nobody})
    if (zpool.status === 0) {
      if (this.test) this.test.title += ' [skipped: /dev/zfs is open to every user here, so nobody may read the pools]'
      return this.skip()
    }

    const run = lnstore(['status'], {env: {LNSTORE_STATE_DIR: join(shared, 'state'), LNSTORE_CONFIG: join(shared, 'config.json')}, as: nobody})
    expect(run.status, run.stderr).to.equal(3)
    expect(run.stdout.split('\n')[0]).to.match(/^UNKNOWN: zpool (status|list) .*: permission denied \(.*\): reading the pools needs root, or access to ZFS's control device$/)
    expect(run.errors).to.contain('Run lnstore as root')
    expect(run.errors).not.to.contain('modprobe')
  })

  it('status: a check that cannot run says UNKNOWN and why on the first line of standard output', () => {
    const run = lnstore(['status'], {env: {...env, PATH: '/nonexistent'}})
    expect(run.status).to.equal(3)
    expect(run.stdout.split('\n')[0]).to.equal('UNKNOWN: zpool status -j --json-int: zpool is not installed (not found on PATH)')
  })
})
