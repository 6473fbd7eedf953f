import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {lnstoreAsync} from '../support/cli.js'
import {CHIRONFS_BIN, ChironSandbox, requireChironfs} from '../support/chironfs-sandbox.js'

/** `lnstore init --chironfs`: refusals on any machine; the whole runbook with the real chironfs where installed. */
describe('lnstore init --chironfs', function () {
  const sandbox = new ChironSandbox()
  let count = 0
  after(() => sandbox.cleanup())

  /** A node data directory with a database, a secret and a socket; a config naming a state directory and ChironFS paths. */
  function setup() {
    const id = count++
    const dataDir = join(sandbox.dir, `init${id}-data`)
    sandbox.database(dataDir, 42)
    writeFileSync(join(dataDir, 'hsm_secret'), 'S'.repeat(32))
    const config = join(sandbox.dir, `init${id}.json`)
    writeFileSync(config, JSON.stringify({stateDir: join(sandbox.dir, `init${id}-state`), chironfs: {controlSocket: join(sandbox.dir, `init${id}-run`, 'chironfs.sock'), log: join(sandbox.dir, `init${id}-log`, 'chironfs.log')}}))
    const systemdDir = join(sandbox.dir, `init${id}-systemd`)
    const init = (args: string[], env: NodeJS.ProcessEnv = {}) => lnstoreAsync(['init', '--config', config, '--chironfs', '--data-dir', dataDir, '--user', 'root', '--systemd-dir', systemdDir, ...args], {env: {LNSTORE_CHIRONFS_BIN: CHIRONFS_BIN, ...env}})
    return {dataDir, config, systemdDir, init}
  }

  it('refuses, touching nothing, when chironfs is not installed (with how to get it), with one replica, or a replica that holds data', async () => {
    const {dataDir, config, init} = setup()
    const full = sandbox.replica('init-full')
    writeFileSync(join(full, 'something'), 'x')
    const run = await init(['--replica', join(sandbox.dir, 'init-new'), '--replica', `:${full}`, '--yes'], {LNSTORE_CHIRONFS_BIN: join(sandbox.dir, 'no-such-chironfs')})
    expect(run.status).to.equal(2)
    expect(run.errors).to.contain('lnstore init refused')
    expect(run.errors).to.contain('ChironFS is not installed (no such program)')
    expect(run.errors).to.contain('github.com/tweksteen/chironfs')
    expect(run.errors).to.contain(`${full}: exists and is not empty`)
    const one = await init(['--replica', join(sandbox.dir, 'init-only'), '--yes'])
    expect(one.status).to.equal(2)
    expect(one.errors).to.contain('ChironFS needs at least two replicas')
    expect(existsSync(join(sandbox.dir, 'init-new'))).to.equal(false)
    expect(readdirSync(dataDir).sort()).to.deep.equal(['bitcoin', 'hsm_secret'])
    expect(JSON.parse(readFileSync(config, 'utf8')).mode).to.equal(undefined)
  })

  it('refuses one directory given twice (written differently) or one replica inside another, touching nothing', async () => {
    const {dataDir, init} = setup()
    const base = join(sandbox.dir, 'init-dup')
    const twice = await init(['--replica', base, '--replica', `:${sandbox.dir}/./init-dup/`, '--dry-run'])
    expect(twice.status, twice.stdout).to.equal(2)
    expect(twice.errors).to.contain(`replicas ${base} and ${sandbox.dir}/./init-dup/ are one directory: ChironFS would keep one copy where lnstore counts two`)
    const nested = await init(['--replica', base, '--replica', `:${base}/inner`, '--dry-run'])
    expect(nested.status, nested.stdout).to.equal(2)
    expect(nested.errors).to.contain(`replica ${base}/inner is inside replica ${base}`)
    expect(existsSync(base)).to.equal(false)
    expect(readdirSync(dataDir).sort()).to.deep.equal(['bitcoin', 'hsm_secret'])
  })

  describe('with the real chironfs', function () {
    before(function () {
      requireChironfs()
    })

    it('--dry-run warns when the replicas share a filesystem (it protects nothing), and changes nothing', async () => {
      const {dataDir, init} = setup()
      const run = await init(['--replica', join(sandbox.dir, 'same-a'), '--replica', `:${join(sandbox.dir, 'same-b')}`, '--dry-run'])
      expect(run.status, run.stderr).to.equal(0)
      expect(run.stdout).to.contain('lnstore init would (dry run, nothing is changed):')
      expect(run.stdout).to.match(/WARNING: replicas \S+same-a and \S+same-b are on the same filesystem: one disk failure loses both/)
      expect(existsSync(join(sandbox.dir, 'same-a'))).to.equal(false)
      expect(readdirSync(dataDir).sort()).to.deep.equal(['bitcoin', 'hsm_secret'])
    })

    it('moves the node data into replicas on two filesystems, verified, mounts ChironFS, installs the boot unit and records mode chironfs', async () => {
      const {dataDir, config, systemdDir, init} = setup()
      const local = join(sandbox.replica('init-local-fs', {ownFilesystem: true}), 'lightning')
      const remote = join(sandbox.replica('init-remote-fs', {ownFilesystem: true}), 'lightning')
      const run = await init(['--replica', local, '--replica', `:${remote}`, '--yes', '--json'])
      expect(run.status, run.stdout + run.stderr).to.equal(0)
      const result = run.json()
      expect(result).to.deep.include({action: 'created', mode: 'chironfs', replicas: [local, `:${remote}`], dataDir})
      expect(result.notes.join('\n')).to.not.contain('same filesystem')
      expect(sandbox.isMounted(dataDir)).to.equal(true)
      expect(readFileSync(join(dataDir, 'hsm_secret'), 'utf8')).to.equal('S'.repeat(32))
      for (const replica of [local, remote]) expect(readFileSync(join(replica, 'hsm_secret'), 'utf8')).to.equal('S'.repeat(32))
      expect(readdirSync(result.originalKeptAt).sort()).to.deep.equal(['bitcoin', 'hsm_secret'])

      const written = JSON.parse(readFileSync(config, 'utf8'))
      expect(written).to.deep.include({mode: 'chironfs', dataDir})
      expect(written.chironfs.replicas).to.deep.equal([local, `:${remote}`])

      const [unit] = readdirSync(systemdDir)
      expect(unit).to.match(/^lnstore-chironfs@.*\.service$/)
      const text = readFileSync(join(systemdDir, unit), 'utf8')
      expect(text).to.contain('Before=lightningd.service').and.contain('RequiredBy=lightningd.service')
      expect(text).to.contain(`ExecStart=${CHIRONFS_BIN} --ctl`)
      const verify = spawnSync('systemd-analyze', ['verify', join(systemdDir, unit)], {encoding: 'utf8'})
      if (!verify.error) expect(verify.status, verify.stderr).to.equal(0)

      const status = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
      expect(status.chironfs.mounted).to.equal(true)
      for (const replica of status.chironfs.replicas) expect(replica, JSON.stringify(replica.findings)).to.deep.include({verdict: 'OK', enabled: true, dataVersion: 42})
      // init verified every file: that is a clean full comparison, not "none on record".
      expect(status.verdict, JSON.stringify(status.pools[0].findings)).to.equal('OK')
      const events = JSON.parse(readFileSync(join(written.stateDir, 'events.json'), 'utf8'))
      expect(events.at(-1)).to.deep.include({kind: 'chironfs-created', pool: 'chironfs'})
    })
  })
})
