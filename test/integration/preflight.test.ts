import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, writeSync, closeSync, existsSync} from 'node:fs'
import {join} from 'node:path'

import {BIN, lnstore, lnstoreAsync} from '../support/cli.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {backend, ensureZfs, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** `lnstore preflight`, the node's start gate, on a real zfs-fuse pool and a real SQLite database shaped like Core Lightning's. */
describe('lnstore preflight on real ZFS (zfs-fuse)', function () {
  const sandbox = new ZfsSandbox()
  let pool: PoolHandle
  let dataset: string
  let dataDir: string
  let database: string
  let env: NodeJS.ProcessEnv
  const preflight = (...args: string[]) => lnstore(['preflight', ...args], {env})
  const setDataVersion = (value: number) => sh('sqlite3', [database, `UPDATE vars SET intval = ${value} WHERE name = 'data_version';`])

  before(async () => {
    await ensureZfs()
    pool = sandbox.createPool('lnspre', ['mirror'], sandbox.devices(2))
    dataset = `${pool.name}/lightning`
    dataDir = join(sandbox.dir, 'lightning')
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, dataset])
    mkdirSync(join(dataDir, 'bitcoin'))
    database = join(dataDir, 'bitcoin', 'lightningd.sqlite3')
    sh('sqlite3', [database, "CREATE TABLE vars (name VARCHAR(32), val VARCHAR(255), intval INTEGER, blobval BLOB, PRIMARY KEY (name)); INSERT INTO vars (name, intval) VALUES ('data_version', 10);"])
    const config = join(sandbox.dir, 'config.json')
    writeFileSync(config, JSON.stringify({pools: [pool.name], dataDir, dataset, mode: 'zfs'}))
    env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(sandbox.dir, 'state')}
  })

  after(() => sandbox.cleanup())

  it('passes on fresh data and records the data_version it saw', () => {
    const result = preflight('--json')
    expect(result.status, result.stdout + result.stderr).to.equal(0)
    expect(result.json()).to.deep.include({safe: true, verdict: 'OK'})
    expect(result.json().database).to.deep.include({path: database, dataVersion: 10, check: 'ok'})
    const state = JSON.parse(readFileSync(join(env.LNSTORE_STATE_DIR!, 'freshness.json'), 'utf8'))
    expect(state.highWater[database].dataVersion).to.equal(10)
  })

  it('refuses when the database is replaced by an older copy, and passes after the documented acknowledgement', () => {
    const old = join(sandbox.dir, 'old-copy.sqlite3')
    copyFileSync(database, old)
    setDataVersion(20)
    expect(preflight().status).to.equal(0)
    copyFileSync(old, database)

    const refused = preflight()
    expect(refused.status).to.equal(2)
    expect(refused.stdout).to.contain('DO NOT START the node')
    expect(refused.stdout).to.contain(`${database} has data_version 10, but lnstore has seen 20: this data is OLDER than what the node last wrote`)

    const ack = lnstore(['preflight', 'ack', '--yes', '--json'], {env})
    expect(ack.status, ack.stderr).to.equal(0)
    expect(ack.json().accepted).to.deep.equal([`${database}: data_version 10, lower than the 20 lnstore saw`])
    expect(ack.json().by).to.match(/@/)
    expect(preflight().status).to.equal(0)
  })

  it('refuses after `zfs rollback` of the dataset, even when data_version is unchanged since the snapshot', () => {
    setDataVersion(30)
    expect(preflight().status).to.equal(0)
    sh('zfs', ['snapshot', `${dataset}@before`])
    setDataVersion(31)
    expect(preflight().status).to.equal(0)
    sh('zfs', ['rollback', `${dataset}@before`])

    const refused = preflight('--json')
    expect(refused.status).to.equal(2)
    const messages = refused.json().findings.map((finding: {message: string}) => finding.message)
    expect(messages.some((message: string) => message.startsWith(`${dataset} was rolled back to a snapshot`))).to.equal(true)
    expect(messages.some((message: string) => message.includes('has data_version 30, but lnstore has seen 31'))).to.equal(true)

    expect(lnstore(['preflight', 'ack', '--yes'], {env}).status).to.equal(0)
    expect(preflight().status).to.equal(0)
  })

  it('status records the data_version it sees, and turns CRITICAL when the database goes backwards', () => {
    setDataVersion(40)
    const fine = lnstore(['status', '--json', '--no-alert'], {env}).json()
    expect(fine.findings).to.deep.equal([])
    const state = JSON.parse(readFileSync(join(env.LNSTORE_STATE_DIR!, 'freshness.json'), 'utf8'))
    expect(state.highWater[database]).to.deep.include({dataVersion: 40, by: 'status'})
    setDataVersion(39)
    const backwards = lnstore(['status', '--json', '--no-alert'], {env})
    expect(backwards.status).to.equal(2)
    expect(backwards.json().findings[0].message).to.equal("the node's database went backwards: data_version 39, but lnstore has seen 40; the data was rolled back or replaced by an older copy")
    setDataVersion(40)
  })

  it('refuses when the dataset is not mounted and the directory is an empty leftover', () => {
    sh('zfs', ['unmount', dataset])
    try {
      const refused = preflight('--json')
      expect(refused.status).to.equal(2)
      expect(refused.json().findings[0].message).to.contain(`the node data directory ${dataDir} is not a mount point`)
    } finally {
      sh('zfs', ['mount', dataset])
    }
  })

  it('refuses a corrupted database', () => {
    const saved = join(sandbox.dir, 'good.sqlite3')
    copyFileSync(database, saved)
    // Fill the database with pages, then overwrite some of them behind SQLite's back.
    sh('sqlite3', [database, "CREATE TABLE filler (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) INSERT INTO filler SELECT randomblob(900) FROM n;"])
    const file = openSync(database, 'r+')
    writeSync(file, Buffer.alloc(4096 * 4, 0xa5), 0, 4096 * 4, 4096 * 3)
    closeSync(file)
    try {
      const refused = preflight()
      expect(refused.status).to.equal(2)
      expect(refused.stdout).to.match(/fails SQLite's quick_check/)
    } finally {
      copyFileSync(saved, database)
    }
  })

  it('refuses, with a CRITICAL naming it, a database whose first block the pool cannot read back (no good copy left), where it used to fail to check; status names it too', function () {
    const damaged = sandbox.createPool('lnsioerr', [], sandbox.devices(1))
    const damagedDataset = `${damaged.name}/lightning`
    const damagedDir = join(sandbox.dir, 'lightning-ioerr')
    sh('zfs', ['create', '-o', `mountpoint=${damagedDir}`, damagedDataset])
    mkdirSync(join(damagedDir, 'bitcoin'))
    const damagedDb = join(damagedDir, 'bitcoin', 'lightningd.sqlite3')
    sh('sqlite3', [damagedDb, "CREATE TABLE vars (name VARCHAR(32), val VARCHAR(255), intval INTEGER, blobval BLOB, PRIMARY KEY (name)); INSERT INTO vars (name, intval) VALUES ('data_version', 7); CREATE TABLE filler (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler SELECT randomblob(1000) FROM n;"])
    const config = join(sandbox.dir, 'config-ioerr.json')
    // A single disk: its lack of redundancy is allowed here, so the database is the only refusal.
    writeFileSync(config, JSON.stringify({pools: [damaged.name], dataDir: damagedDir, dataset: damagedDataset, mode: 'zfs', allowDegradedStart: true}))
    const damagedEnv = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(sandbox.dir, 'state-ioerr')}
    expect(lnstore(['preflight'], {env: damagedEnv}).status).to.equal(0)
    // The file's first block (SQLite's page 1, read by every open) overwritten on the disk, found with zdb.
    sh('sync', [])
    const blocks = sh('zdb', ['-ddddd', damagedDataset, String(statSync(damagedDb).ino)])
    const first = /^\s+0\s+L0\s+0:([0-9a-f]+):([0-9a-f]+)/m.exec(blocks)
    expect(first, `zdb listed no first data block:\n${blocks}`).to.not.equal(null)
    const [offset, size] = [Number.parseInt(first![1], 16), Number.parseInt(first![2], 16)]
    sh('zpool', ['export', damaged.name])
    const device = backend === 'kernel' ? `${damaged.devices[0]}-part1` : damaged.devices[0]
    // Behind ZFS's labels and boot area (4 MiB), as in the data area of a whole-disk partition.
    sh('dd', ['if=/dev/urandom', `of=${device}`, 'bs=512', `seek=${(0x400000 + offset) / 512}`, `count=${size / 512}`, 'conv=notrunc,fsync', 'status=none'])
    sandbox.importPool(damaged.name)
    expect(spawnSync('cat', [damagedDb]).status, 'the overwritten block still reads back: the fault did not take').to.not.equal(0)

    const refused = lnstore(['preflight', '--json'], {env: damagedEnv})
    expect(refused.status, refused.stdout + refused.stderr).to.equal(2)
    expect(refused.json().database.check).to.match(/^unreadable: .*SQLITE_IOERR/)
    expect(refused.json().findings).to.deep.include({
      verdict: 'CRITICAL',
      message: `${damagedDb} fails SQLite's quick_check: ${refused.json().database.check}`,
      next: "do not start the node on it: restore the pool's data (zpool status -v) or ask for help",
    })
    const status = lnstore(['status', '--no-alert'], {env: damagedEnv})
    expect(status.status, status.stdout + status.stderr).to.equal(2)
    expect(status.stdout).to.contain(`${damagedDb} is the node's channel database, and it is damaged`)
  })

  it('refuses when its own record is damaged, and says how to accept the data deliberately', () => {
    const state = join(env.LNSTORE_STATE_DIR!, 'freshness.json')
    writeFileSync(state, '{"version": 1, "highWa')
    const refused = preflight()
    expect(refused.status).to.equal(2)
    expect(refused.stdout).to.contain("lnstore's record of the highest data_version seen is damaged")
    expect(refused.stdout).to.contain('lnstore preflight ack')
    expect(lnstore(['preflight', 'ack', '--yes'], {env}).status).to.equal(0)
    expect(preflight().status).to.equal(0)
  })

  it('refuses a missing database once one was recorded (the node would silently start over), and allows a brand-new node', () => {
    const moved = `${database}.away`
    copyFileSync(database, moved)
    rmSync(database)
    try {
      const refused = preflight('--json')
      expect(refused.status).to.equal(2)
      expect(refused.json().findings.at(-1).message).to.match(/the node's database is missing from \S+bitcoin, but lnstore recorded \S+lightningd.sqlite3 at data_version \d+/)
      // A brand-new node: nothing recorded, no database anywhere in the data directory.
      const fresh = lnstore(['preflight', '--json'], {env: {...env, LNSTORE_STATE_DIR: join(sandbox.dir, 'state-new')}})
      expect(fresh.status).to.equal(0)
      expect(fresh.json().findings.at(-1).message).to.contain('none ever recorded: a brand-new node may start')
      // A deliberately new node on this hsm_secret: accepted once, by name.
      const ack = lnstore(['preflight', 'ack', '--yes', '--json'], {env})
      expect(ack.status, ack.stderr).to.equal(0)
      expect(ack.json().accepted).to.deep.equal([`${database} is missing: the node starts over with an empty database (lnstore forgets its record of it)`])
      expect(preflight().status).to.equal(0)
    } finally {
      copyFileSync(moved, database)
    }
  })

  it('mails the refusal when alerts are configured', async () => {
    const server = new TestSmtpServer()
    const port = await server.start()
    const mailDir = join(sandbox.dir, 'mail')
    mkdirSync(mailDir)
    const config = alertConfig(mailDir, port, {pools: [pool.name], dataDir, dataset, mode: 'zfs'})
    sh('zfs', ['unmount', dataset])
    try {
      const refused = await lnstoreAsync(['preflight'], {env: {...env, LNSTORE_CONFIG: config}})
      expect(refused.status).to.equal(2)
      const [mail] = await server.waitFor(1)
      expect(mail.subject).to.match(/^\[lnstore\] CRITICAL: preflight kept the Lightning node on \S+ from starting: the node data directory .+ is not a mount point/)
      expect(mail.to).to.deep.equal(['ops@example.org', 'node-owner@example.org'])
      expect(mail.text).to.contain('zpool import -a; zfs mount -a')
    } finally {
      sh('zfs', ['mount', dataset])
      await server.stop()
    }
  })

  it('installs and removes the systemd drop-in for node.unit: absolute paths, a record at every stop, the gate run once first', () => {
    const systemdDir = join(sandbox.dir, 'systemd')
    mkdirSync(systemdDir, {recursive: true})
    // node.unit from the config; a unit systemd does not have is refused.
    const configured = join(sandbox.dir, 'config-unit.json')
    writeFileSync(configured, JSON.stringify({...JSON.parse(readFileSync(env.LNSTORE_CONFIG!, 'utf8')), node: {unit: 'cln'}}))
    const unitEnv = {...env, LNSTORE_CONFIG: undefined}
    const missing = lnstore(['preflight', 'install', '--systemd-dir', systemdDir, '--config', configured, '--yes'], {env: unitEnv})
    expect(missing.status).to.equal(2)
    expect(missing.errors).to.contain('systemd has no unit cln.service')
    writeFileSync(join(systemdDir, 'cln.service'), '[Service]\nExecStart=/bin/true\n')
    // A relative --config, as an operator types it: the unit must name it absolutely (systemd runs it from /).
    const relative = spawnSync(process.execPath, [BIN, 'preflight', 'install', '--systemd-dir', systemdDir, '--config', 'config-unit.json', '--yes', '--json'], {cwd: sandbox.dir, encoding: 'utf8', env: {...process.env, ...unitEnv}})
    expect(relative.status, relative.stderr).to.equal(0)
    const path = join(systemdDir, 'cln.service.d', 'lnstore-preflight.conf')
    const installed = JSON.parse(relative.stdout)
    expect(installed).to.deep.include({action: 'installed', path})
    expect(installed.gate).to.deep.include({safe: true, verdict: 'OK'})
    const dropIn = readFileSync(path, 'utf8')
    expect(dropIn).to.contain(`ExecStartPre=+${process.execPath} ${realpathSync(BIN)} preflight --config ${configured}\n`)
    expect(dropIn).to.contain(`ExecStopPost=-+${process.execPath} ${realpathSync(BIN)} preflight record --config ${configured}\n`)
    expect(lnstore(['preflight', 'install', '--systemd-dir', systemdDir, '--config', configured, '--yes', '--json'], {env: unitEnv}).json().action).to.equal('unchanged')
    if (existsSync('/usr/bin/systemd-analyze')) {
      expect(sh('systemd-analyze', ['verify', join(systemdDir, 'cln.service')], {allowFailure: true})).to.not.contain('lnstore-preflight.conf')
    }

    expect(lnstore(['preflight', 'install', '--systemd-dir', systemdDir, '--config', configured, '--remove', '--yes', '--json'], {env: unitEnv}).json().action).to.equal('removed')
    expect(existsSync(path)).to.equal(false)

    // The gate's decision is said before installing: here it would refuse (an older database).
    const systemdDir2 = join(sandbox.dir, 'systemd2')
    mkdirSync(systemdDir2)
    writeFileSync(join(systemdDir2, 'lightningd.service'), '[Service]\nExecStart=/bin/true\n')
    setDataVersion(1)
    const refusing = lnstore(['preflight', 'install', '--systemd-dir', systemdDir2, '--yes'], {env})
    expect(refusing.status, refusing.stderr).to.equal(0)
    expect(refusing.stdout).to.contain('the gate now: DO NOT START the node (CRITICAL); once installed, lightningd.service will not start until this is fixed')
    expect(refusing.stdout).to.contain('has data_version 1, but lnstore has seen')
  })

})
