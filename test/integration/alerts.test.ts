import {expect} from 'chai'
import {chmodSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {lnstoreAsync, type CliRun} from '../support/cli.js'
import {alertConfig, SMTP_PASSWORD, SMTP_USER, TestSmtpServer} from '../support/smtp.js'
import {waitFor} from '../support/wait.js'
import {backend, ensureZfs, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** Waits until zpool shows no scan running on the pool (a resilver after `zpool online`). */
async function settle(pool: PoolHandle): Promise<void> {
  let status = ''
  await waitFor(`no scan in progress on ${pool.name}`, () => !/in progress/.test((status = sh('zpool', ['status', pool.name]))), {seen: () => status})
}

describe(`mail alerts from lnstore status on real ZFS (${backend}), through a real SMTP server`, function () {
  const sandbox = new ZfsSandbox()
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-alerts-'))
  const server = new TestSmtpServer()
  const outputs: string[] = []
  let port: number
  let mirror: PoolHandle
  let env: NodeJS.ProcessEnv
  const status = async (...args: string[]): Promise<CliRun> => {
    const run = await lnstoreAsync(['status', '--pool', mirror.name, ...args], {env})
    outputs.push(run.stdout, run.stderr)
    return run
  }

  before(async () => {
    await ensureZfs()
    port = await server.start()
    env = {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: alertConfig(dir, port)}
    mirror = sandbox.createPool('lnsalert', ['mirror'], sandbox.devices(2))
    await sandbox.scrub(mirror)
  })

  after(async () => {
    sandbox.cleanup()
    await server.stop()
  })

  it('a healthy pool, first seen: no mail', async () => {
    const run = await status('--json')
    expect(run.status, run.stderr).to.equal(0)
    expect(run.json().alerts).to.deep.equal({configured: true, queued: [], sent: 0, pending: 0, failures: []})
    expect(server.messages).to.deep.equal([])
  })

  it('a device taken offline: one CRITICAL mail to every recipient with the change, the device, the next command and the zpool status excerpt', async () => {
    const [, offline] = mirror.devices
    sh('zpool', ['offline', mirror.name, offline])
    const run = await status()
    expect(run.status).to.equal(2)
    expect(run.stderr).to.contain(`alert queued: [lnstore] CRITICAL: pool ${mirror.name} on ${hostname()}`)
    expect(run.stderr).to.match(/mail sent: ".*" to ops@example.org, node-owner@example.org \(250 OK: message queued\)/)
    const [mail] = await server.waitFor(1)
    expect(mail.subject).to.equal(`[lnstore] CRITICAL: pool ${mirror.name} on ${hostname()}: mirror-0 has no redundant copy left (${offline} missing): one more failure loses data`)
    expect(mail.to).to.deep.equal(['ops@example.org', 'node-owner@example.org'])
    expect(mail.from).to.equal('lnstore@node.example.org')
    expect(mail.text).to.contain(`What to do next:\n  zpool status -v ${mirror.name}\n  zpool online ${mirror.name} ${offline}\n`)
    expect(mail.text).to.contain(`  pool ${mirror.name}: OK -> CRITICAL\n  ${offline}: OK -> WARNING\n`)
    expect(mail.text).to.match(new RegExp(`\\n {2}${offline} +WARNING +read 0 {2}write 0 {2}cksum 0 {2}new 0 / 0 / 0\\n`))
    expect(mail.text).to.contain(`zpool status -v ${mirror.name}:\n\n  pool: ${mirror.name}\n state: DEGRADED`)
    expect(mail.text).to.match(new RegExp(`\\t {4}${offline} +OFFLINE`))
    expect(mail.html).to.contain(`<li><b>pool ${mirror.name}</b>: OK &rarr; CRITICAL</li>`)
  })

  it('no second mail while nothing changes', async () => {
    const run = await status('--json')
    expect(run.status).to.equal(2)
    expect(run.json().alerts).to.deep.include({queued: [], sent: 0, pending: 0})
    expect(server.messages).to.have.length(1)
  })

  it('a "recovered" mail once the device is back', async () => {
    sh('zpool', ['online', mirror.name, mirror.devices[1]])
    await settle(mirror)
    const run = await status()
    expect(run.status, run.stdout).to.equal(0)
    const mails = await server.waitFor(2)
    expect(mails[1].subject).to.equal(`[lnstore] RECOVERED: pool ${mirror.name} on ${hostname()} is OK again`)
    expect(mails[1].text).to.contain(`pool ${mirror.name} on ${hostname()} is OK again (it was CRITICAL).`)
    expect(mails[1].text).to.contain(`  ${mirror.devices[1]}: WARNING -> OK\n`)
  })

  it('keeps the alert in the outbox while the mail server is down, and delivers it, once, when it is back', async () => {
    await server.stop()
    sh('zpool', ['offline', mirror.name, mirror.devices[1]])
    try {
      const down = await status()
      expect(down.status).to.equal(2)
      expect(down.errors).to.match(/mail not sent, kept in the outbox for the next run: "\[lnstore\] CRITICAL: .*": cannot connect to the mail server 127\.0\.0\.1:\d+ \(STARTTLS\): connection refused/)
      const state = JSON.parse(readFileSync(join(dir, 'state', 'alerts.json'), 'utf8'))
      expect(state.outbox.map((mail: any) => [mail.subject.slice(0, 25), mail.attempts])).to.deep.equal([['[lnstore] CRITICAL: pool ', 1]])

      await server.start(port)
      const back = await status('--json')
      expect(back.json().alerts).to.deep.include({queued: [], sent: 1, pending: 0})
      const mails = await server.waitFor(3)
      expect(mails[2].subject).to.match(/^\[lnstore\] CRITICAL: pool /)
      await status()
      expect(server.messages).to.have.length(3)
    } finally {
      sh('zpool', ['online', mirror.name, mirror.devices[1]])
      await settle(mirror)
    }
  })

  it('a state directory that cannot be written: the CRITICAL mail still goes out, and the failure is loud', async () => {
    const notADirectory = join(dir, 'state-is-a-file')
    writeFileSync(notADirectory, '')
    sh('zpool', ['offline', mirror.name, mirror.devices[1]])
    try {
      const before = server.messages.length
      const run = await lnstoreAsync(['status', '--pool', mirror.name], {env: {...env, LNSTORE_STATE_DIR: notADirectory}})
      outputs.push(run.stdout, run.stderr)
      expect(run.status, run.stderr).to.equal(2)
      expect(run.errors).to.contain(`alerts: CANNOT WRITE the alert state in ${notADirectory}`)
      expect(run.errors).to.contain('mails sent directly instead of through the outbox')
      // Two mails: the pool's CRITICAL, and the host's WARNING that the error history cannot be recorded either.
      const subjects = (await server.waitFor(before + 2)).slice(before).map((mail) => mail.subject)
      expect(subjects.some((subject) => subject.startsWith(`[lnstore] CRITICAL: pool ${mirror.name} `)), subjects.join('\n')).to.equal(true)
    } finally {
      sh('zpool', ['online', mirror.name, mirror.devices[1]])
      await settle(mirror)
    }
  })

  it('never shows the SMTP password: not in any output, not in `config show`', async () => {
    const shown = await lnstoreAsync(['config', 'show', '--json'], {env})
    expect(shown.json().config.alerts.smtp).to.deep.include({user: 'lnstore', passwordFile: join(dir, 'smtp-password')})
    outputs.push(shown.stdout, shown.stderr)
    for (const output of outputs) expect(output).not.to.contain(SMTP_PASSWORD)
  })
})

describe('lnstore alert test, against real SMTP servers', function () {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-alert-test-'))
  const starttls = new TestSmtpServer()
  const implicit = new TestSmtpServer({secure: true})
  let ports: {starttls: number; implicit: number}
  const alertTest = (config: Parameters<typeof alertConfig>[2] = {}, port = ports.starttls) =>
    lnstoreAsync(['alert', 'test'], {env: {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: alertConfig(dir, port, config)}})

  before(async () => {
    ports = {starttls: await starttls.start(), implicit: await implicit.start()}
  })

  after(async () => {
    await starttls.stop()
    await implicit.stop()
  })

  it('sends a test message over STARTTLS with a login, and reports the server\'s answer', async () => {
    const run = await alertTest()
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stdout).to.equal(`test mail accepted by 127.0.0.1:${ports.starttls} (STARTTLS) for ops@example.org, node-owner@example.org: 250 OK: message queued\n`)
    const [mail] = await starttls.waitFor(1)
    expect(mail.subject).to.equal(`[lnstore] TEST: mail from lnstore on ${hostname()}`)
    expect(mail.text).to.contain(`Sent through 127.0.0.1:${ports.starttls} (STARTTLS).`)
  })

  it('and over TLS from the first byte', async () => {
    const run = await alertTest({smtp: {tls: 'implicit'}}, ports.implicit)
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stdout).to.contain(`test mail accepted by 127.0.0.1:${ports.implicit} (TLS)`)
  })

  it('a wrong password: the login was refused, exit 1, and the password shown nowhere', async () => {
    const run = await alertTest()
    writeFileSync(join(dir, 'smtp-password'), 'not the password\n')
    const refused = await lnstoreAsync(['alert', 'test'], {env: {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: join(dir, 'config.json')}})
    expect(run.status).to.equal(0)
    expect(refused.status).to.equal(1)
    expect(refused.errors).to.contain(`the test mail was not sent: the mail server 127.0.0.1:${ports.starttls} (STARTTLS) refused the login as lnstore: 535 Invalid username or password; check "alerts.smtp.user" and the password`)
    expect(refused.stdout + refused.stderr).not.to.contain('not the password')
  })

  it('TLS mismatches, both ways, say which setting to change', async () => {
    const implicitToStarttls = await alertTest({smtp: {tls: 'implicit'}})
    expect(implicitToStarttls.status).to.equal(1)
    expect(implicitToStarttls.errors).to.contain('the server does not speak TLS from the first byte; for a server that offers STARTTLS (usually port 587) set "alerts.smtp.tls: starttls"')
    const starttlsToImplicit = await alertTest({smtp: {timeoutSeconds: 1}}, ports.implicit)
    expect(starttlsToImplicit.status).to.equal(1)
    expect(starttlsToImplicit.errors).to.contain('did not answer within 1 s (Greeting never received); a server that speaks TLS from the first byte (port 465) never greets in clear text: try "alerts.smtp.tls: implicit"')
  })

  it('refused recipients: all of them fail the test, some are reported', async () => {
    const all = await alertTest({alerts: {to: ['bad@example.org']}})
    expect(all.status).to.equal(1)
    expect(all.errors).to.contain('refused the sender or the recipients (550 No such user here); check "alerts.from" and "alerts.to"')
    const some = await alertTest({alerts: {to: ['bad@example.org', 'ops@example.org']}})
    expect(some.status).to.equal(0)
    expect(some.stdout).to.contain('for ops@example.org: 250 OK').and.to.contain('refused for bad@example.org: 550 No such user here')
  })

  it('refuses a password file every user can read, saying why', async () => {
    const config = alertConfig(dir, ports.starttls)
    chmodSync(join(dir, 'smtp-password'), 0o644)
    const run = await lnstoreAsync(['alert', 'test'], {env: {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: config}})
    expect(run.status).to.equal(1)
    expect(run.errors).to.contain(`is readable by every user on this machine (mode 0644), so any local program could read the mail password`)
  })

  it('never sends the password in clear text to another machine: tls none with a login is refused before connecting, allowed on loopback', async () => {
    // A host that is not this machine (the .invalid top-level domain never resolves): lnstore must
    // refuse from the config alone, before any lookup or connection, so no traffic leaves the test.
    const host = 'smtp.example.invalid'
    const run = await alertTest({smtp: {host, tls: 'none'}}, 25)
    expect(run.status, run.stdout).to.equal(1)
    expect(run.errors).to.contain(`"alerts.smtp.tls" is "none" with a login to ${host}, which is not on this machine: the password would cross the network in clear text`)
    expect(`${run.stdout}${run.stderr}`).not.to.contain(SMTP_PASSWORD)

    const local = new TestSmtpServer({allowInsecureAuth: true})
    const localPort = await local.start()
    try {
      const run = await alertTest({smtp: {tls: 'none'}}, localPort)
      expect(run.status, run.stderr).to.equal(0)
      expect(local.logins).to.deep.equal([{user: SMTP_USER, overTls: false}])
    } finally {
      await local.stop()
    }
  })

  it('a server that is not there: connection refused', async () => {
    const run = await alertTest({}, 1)
    expect(run.status).to.equal(1)
    expect(run.errors).to.contain('cannot connect to the mail server 127.0.0.1:1 (STARTTLS): connection refused (is it running, and is the port right?)')
  })
})
