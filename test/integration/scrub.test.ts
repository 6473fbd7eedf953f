import {expect} from 'chai'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {lnstoreAsync} from '../support/cli.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {backend, ensureZfs, printedName, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

describe(`lnstore scrub on real ZFS (${backend})`, function () {
  const sandbox = new ZfsSandbox()
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-scrub-'))
  const server = new TestSmtpServer()
  let mirror: PoolHandle
  let env: NodeJS.ProcessEnv
  const scrub = (...args: string[]) => lnstoreAsync(['scrub', ...args], {env})
  const history = () => JSON.parse(readFileSync(join(dir, 'state', 'history.json'), 'utf8'))

  before(async () => {
    await ensureZfs()
    env = {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: alertConfig(dir, await server.start())}
    mirror = sandbox.createPool('lnsscrub', ['mirror'], sandbox.devices(2))
    sandbox.fill(mirror, 40)
  })

  after(async () => {
    sandbox.cleanup()
    await server.stop()
  })

  it('scrubs a healthy pool and follows it to the end: OK, exit 0, recorded in the history, no mail', async () => {
    const run = await scrub('--pool', mirror.name, '--wait', '--json')
    expect(run.status, run.stderr).to.equal(0)
    const result = run.json()
    expect(result.verdict).to.equal('OK')
    expect(result.pools).to.have.length(1)
    expect(result.pools[0]).to.deep.include({pool: mirror.name, state: 'finished'})
    expect(result.pools[0].run).to.deep.include({pool: mirror.name, errors: 0, devices: []})
    expect(history().scrubLog).to.deep.equal([result.pools[0].run])
    expect(result.alerts).to.deep.include({configured: true, queued: [], sent: 0})
    expect(server.messages).to.deep.equal([])
  })

  it('finds and repairs a corrupted device: CRITICAL, exit 2, the scrub and the device in the history, an alert and a scrub summary by mail', async () => {
    const [given] = mirror.devices
    sandbox.corrupt(mirror, given)
    const victim = printedName(given)
    const run = await scrub('--pool', mirror.name, '--wait', '--json')
    expect(run.status, run.stderr).to.equal(2)
    const {verdict, pools} = run.json()
    expect(verdict).to.equal('CRITICAL')
    const {run: record} = pools[0]
    expect(record.repairedBytes).to.be.greaterThan(1024 * 1024)
    expect(record.devices).to.have.length(1)
    expect(record.devices[0]).to.deep.include({name: victim, read: 0, write: 0})
    expect(record.devices[0].cksum).to.be.greaterThan(10)
    expect(history().scrubLog.at(-1)).to.deep.equal(record)

    const mails = await server.waitFor(2)
    const subjects = mails.map((mail) => mail.subject)
    expect(subjects).to.have.length(2)
    const alert = mails.find((mail) => !mail.subject.includes('scrub of pool'))!
    expect(alert.subject, alert.subject).to.match(new RegExp(`^\\[lnstore\\] CRITICAL: pool ${mirror.name} on ${hostname()}: ${victim}: \\d+ checksum errors within `))
    expect(alert.text).to.contain(`lnstore replace-disk ${victim} <new-device>${backend === 'kernel' ? '' : ' --allow-files'}`)
    // The failing disk stays in the pool while it is replaced: the mailed command needs no --i-understand.
    expect(alert.text).to.not.contain('--i-understand')
    const summary = mails.find((mail) => mail.subject.includes('scrub of pool'))!
    expect(summary.subject).to.match(new RegExp(`^\\[lnstore\\] CRITICAL: scrub of pool ${mirror.name} on ${hostname()}: repaired [\\d.]+M, 0 errors$`))
    expect(summary.text).to.contain(`    ${victim}  +0 read  +0 write  +${record.devices[0].cksum} cksum`)
  })

  it('without --wait: starts the scrub and returns at once, exit 0', async () => {
    const run = await scrub('--pool', mirror.name)
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stderr).to.equal(`scrub of ${mirror.name} started\n`)
    expect(run.stdout).to.equal(`started: scrub of ${mirror.name} started; \`zpool status ${mirror.name}\` shows how far it is\n`)
    await sandbox.scrubEnded(mirror) // let it end before the next test
  })

  it('starts no second scrub while another lnstore follows one (its lock): exit 3, and why', async () => {
    const lock = join(dir, 'state', `scrub-${mirror.name}.lock`)
    writeFileSync(lock, String(process.pid))
    const run = await scrub('--pool', mirror.name, '--wait')
    expect(run.status).to.equal(3)
    expect(run.stdout).to.equal(`not started: another lnstore scrub is already following a scrub of ${mirror.name}; lnstore does not start a second one\n`)
    writeFileSync(lock, '999999999') // a holder that is gone: the lock is taken over
    expect((await scrub('--pool', mirror.name, '--wait')).status).to.equal(2)
  })

  it('a pool that does not exist: exit 3 and what to do', async () => {
    const run = await scrub('--pool', 'no-such-pool', '--wait')
    expect(run.status).to.equal(3)
    expect(run.errors).to.contain("cannot open 'no-such-pool': no such pool")
    expect(run.errors).to.contain('zpool list')
  })
})
