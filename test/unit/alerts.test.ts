import {expect} from 'chai'
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {observe} from '../../src/alerts/check.js'
import {composeAlertMail, composeScrubMail, loadMailTemplates} from '../../src/alerts/compose.js'
import {decideAlerts, HOST_SCOPE, type ScopeObservation, type ScopeState} from '../../src/alerts/decide.js'
import {AlertStore, deliverOutbox, enqueue} from '../../src/alerts/outbox.js'
import {describeSmtpError, resolveSmtp, type MailTransport, type OutgoingMail} from '../../src/alerts/smtp.js'
import {ConfigError, maskSecrets, validateConfig} from '../../src/config/schema.js'
import {checkStatus} from '../../src/status/check-status.js'
import type {Deps} from '../../src/system/deps.js'
import {fixture} from '../support/fixtures.js'

const HOUR = 3_600_000
const NOW = new Date(2026, 10, 26, 12, 0, 0).getTime()
const options = {now: NOW, repeatMs: 24 * HOUR, complete: false}

const pool = (verdict: ScopeObservation['verdict'], devices: [string, ScopeObservation['verdict']][] = []): ScopeObservation => ({
  scope: 'tank',
  verdict,
  findings: verdict === 'OK' ? [] : [{verdict, message: `tank is ${verdict}`, next: 'zpool status -v tank'}],
  devices: devices.map(([name, deviceVerdict]) => ({key: name, name, verdict: deviceVerdict, findings: [], read: 0, write: 0, cksum: 0, rates: null})),
})

/** Runs observations through the rules one after another, an hour apart by default. */
function sequence(observations: ScopeObservation[], step = HOUR): string[][] {
  let scopes: Record<string, ScopeState> = {}
  return observations.map((observation, index) => {
    const decision = decideAlerts(scopes, [observation], {...options, now: NOW + index * step})
    scopes = decision.scopes
    return decision.alerts.map((alert) => `${alert.kind} ${alert.verdict}`)
  })
}

describe('alert rules', () => {
  it('says nothing about a pool first seen OK, and mails one first seen with a problem', () => {
    expect(sequence([pool('OK')])).to.deep.equal([[]])
    expect(sequence([pool('WARNING')])).to.deep.equal([['problem WARNING']])
  })

  it('mails every change of verdict, up and down, and a recovery', () => {
    expect(sequence([pool('OK'), pool('WARNING'), pool('CRITICAL'), pool('WARNING'), pool('OK'), pool('OK')])).to.deep.equal([
      [],
      ['problem WARNING'],
      ['changed CRITICAL'],
      ['changed WARNING'],
      ['recovered OK'],
      [],
    ])
  })

  it('mails when a device starts failing even though the pool verdict stays the same', () => {
    const decisions = sequence([pool('WARNING', [['vdb', 'OK']]), pool('WARNING', [['vdb', 'WARNING']])])
    expect(decisions).to.deep.equal([['problem WARNING'], ['changed WARNING']])
  })

  it('repeats a lasting problem at most once per interval', () => {
    const lasting = Array.from({length: 50}, () => pool('CRITICAL'))
    const decisions = sequence(lasting)
    expect(decisions.flatMap((alerts, hour) => alerts.map((alert) => `${hour}: ${alert}`))).to.deep.equal(['0: problem CRITICAL', '24: repeat CRITICAL', '48: repeat CRITICAL'])
  })

  it('holds no repeat back when the clock went back: the interval counts from the jump', () => {
    let {scopes} = decideAlerts({}, [pool('CRITICAL')], options)
    const earlier = decideAlerts(scopes, [pool('CRITICAL')], {...options, now: NOW - 48 * HOUR})
    expect(earlier.alerts).to.deep.equal([])
    scopes = earlier.scopes
    expect(scopes.tank.lastSentAt).to.equal(NOW - 48 * HOUR)
    expect(decideAlerts(scopes, [pool('CRITICAL')], {...options, now: NOW - 24 * HOUR}).alerts.map((alert) => alert.kind)).to.deep.equal(['repeat'])
  })

  it('says once that a pool is gone when the check covered every pool, then forgets it', () => {
    const {scopes} = decideAlerts({}, [pool('OK')], options)
    const gone = decideAlerts(scopes, [{scope: HOST_SCOPE, verdict: 'OK', findings: [], devices: []}], {...options, complete: true})
    expect(gone.alerts.map((alert) => [alert.kind, alert.verdict, alert.observation.findings[0].message])).to.deep.equal([
      ['changed', 'UNKNOWN', 'pool tank is no longer imported: lnstore cannot see it'],
    ])
    expect(gone.scopes.tank).to.equal(undefined)
    expect(decideAlerts(scopes, [], {...options, complete: false}).alerts).to.deep.equal([])
  })
})

describe('alert mails', () => {
  const deps = {now: () => NOW} as Deps
  const statusOf = (name: string) =>
    checkStatus(deps, {config: validateConfig({}, 'test'), stateDir: '/nonexistent', pools: [], input: {name, read: async () => fixture(name)}})

  it('names severity, host and pool in the subject; the change, the device, its counters, the next command and zpool status in the body', async () => {
    const observations = observe(await statusOf('openzfs-2.3.2/017-degraded-offline.txt'))
    const {alerts} = decideAlerts({}, observations, options)
    const alert = alerts.find((candidate) => candidate.scope === 'tank')!
    const excerpt = fixture('openzfs-2.3.2/017-degraded-offline.txt')
    const mail = composeAlertMail(alert, {host: 'node1', now: NOW, repeatHours: 24, excerpt}, await loadMailTemplates())
    expect(mail.subject).to.equal('[lnstore] CRITICAL: pool tank on node1: mirror-0 has no redundant copy left (vdc missing): one more failure loses data')
    expect(mail.text).to.contain('What to do next:\n  zpool status -v tank\n')
    expect(mail.text).to.contain('zpool online tank vdc')
    expect(mail.text).to.contain('  pool tank: first seen -> CRITICAL\n')
    expect(mail.text).to.match(/\n {2}vdb {2}WARNING {3}read 0 {2}write 0 {2}cksum 75 {2}new no history\n/)
    // Devices seen for the first time are "first seen", not "OK -> WARNING".
    expect(mail.text).to.contain('  vdb: first seen -> WARNING\n')
    expect(mail.text).not.to.contain('OK -> WARNING')
    expect(mail.text).to.contain(`zpool status -v tank:\n\n${excerpt.trimEnd()}`)
    expect(mail.html).to.contain('<li><b>pool tank</b>: first seen &rarr; CRITICAL</li>')
    expect(mail.html).to.contain('<td><code>vdc</code></td><td>WARNING</td>')
  })

  it('errors counted before the history began are not shown as "new 0 / 0 / 0" without a word', async () => {
    const observations = observe(await statusOf('openzfs-2.3.2/017-degraded-offline.txt'))
    const {alerts} = decideAlerts({}, observations, options)
    const alert = alerts.find((candidate) => candidate.scope === 'tank')!
    const vdb = alert.observation.devices.find((device) => device.name === 'vdb')!
    vdb.rates = {lastHour: 0, lastDay: 0, lastWindow: 0, windowDays: 30}
    const mail = composeAlertMail(alert, {host: 'node1', now: NOW, repeatHours: 24, excerpt: ''}, await loadMailTemplates())
    expect(mail.text).to.contain('cksum 75  new 0 / 0 / 0 (the 75 counted are older, or from before lnstore watched)\n')
  })

  it('a recovery mail says so, and a scrub summary gives what the scrub repaired and where', async () => {
    const templates = await loadMailTemplates()
    const {scopes} = decideAlerts({}, [pool('CRITICAL')], options)
    const recovered = decideAlerts(scopes, [pool('OK')], {...options, now: NOW + HOUR}).alerts[0]
    const mail = composeAlertMail(recovered, {host: 'node1', now: NOW, repeatHours: 24, excerpt: ''}, templates)
    expect(mail.subject).to.equal('[lnstore] RECOVERED: pool tank on node1 is OK again')
    expect(mail.text).to.contain('pool tank on node1 is OK again (it was CRITICAL).')
    expect(mail.text).not.to.contain('zpool status -v tank:')

    const run = {pool: 'tank', startedAt: NOW - 90_000, endedAt: NOW, durationSeconds: 90, errors: 0, repairedBytes: 6_113_198, devices: [{name: 'vdb', read: 0, write: 0, cksum: 75}]}
    const summary = composeScrubMail(run, {host: 'node1', now: NOW, verdict: 'CRITICAL', excerpt: ''}, templates)
    expect(summary.subject).to.equal('[lnstore] CRITICAL: scrub of pool tank on node1: repaired 5.8M, 0 errors')
    expect(summary.text).to.contain('The scrub repaired 5.8M from redundant copies')
    expect(summary.text).to.contain('    vdb  +0 read  +0 write  +75 cksum')
  })
})

describe('alert outbox', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-outbox-'))
  const alerts = validateConfig({alerts: {to: ['ops@example.org'], smtp: {host: 'mail.example.org', tls: 'none'}}}, 'test').alerts
  const mail = (subject: string) => ({subject, text: subject, html: subject})

  it('keeps mails the server did not take, stops at a server failure, goes on after a refused message', async () => {
    const store = new AlertStore(stateDir)
    await store.update((state) => enqueue(state, [mail('one'), mail('bad'), mail('three'), mail('four')], NOW).state, () => {})
    const sent: string[] = []
    let serverUp = true
    const transport: MailTransport = {
      async send(outgoing: OutgoingMail) {
        if (!serverUp) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:25'), {code: 'ESOCKET'})
        if (outgoing.subject === 'bad') throw Object.assign(new Error("Can't send mail - all recipients were rejected: 550 no"), {code: 'EENVELOPE', response: '550 no'})
        sent.push(outgoing.subject)
        if (outgoing.subject === 'three') serverUp = false
        return {accepted: outgoing.to, rejected: [], response: '250 OK', messageId: 'x'}
      },
      close() {},
    }
    const deps = {now: () => NOW, mail: {create: async () => transport}} as unknown as Deps
    const log: string[] = []
    const outcome = await deliverOutbox(deps, store, alerts, (line) => log.push(line))
    expect(sent).to.deep.equal(['one', 'three'])
    expect(outcome).to.deep.include({sent: 2, pending: 2})
    expect((await store.read()).outbox.map((queued) => [queued.subject, queued.attempts])).to.deep.equal([
      ['bad', 1],
      ['four', 1],
    ])
    expect(log).to.include('mail not sent, kept in the outbox for the next run: "four": cannot connect to the mail server mail.example.org:25 (no TLS): connection refused (is it running, and is the port right?)')
  })
})

describe('SMTP settings and failures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-smtp-'))
  const config = (smtp: object) => validateConfig({alerts: {to: ['ops@example.org'], smtp: {host: 'mail.example.org', user: 'u', ...smtp}}}, 'test').alerts
  const settings = {host: 'mail.example.org', port: 587, tls: 'starttls' as const, user: 'u', timeoutMs: 30_000}

  it('reads the password from a file only its owner (and group) can read; refuses a world-readable one, saying why', async () => {
    const file = join(dir, 'password')
    writeFileSync(file, 'sekrit\n')
    chmodSync(file, 0o640)
    expect((await resolveSmtp(config({passwordFile: file}))).password).to.equal('sekrit')
    chmodSync(file, 0o644)
    const error = await resolveSmtp(config({passwordFile: file})).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(ConfigError)
    expect((error as Error).message).to.equal(
      `"alerts.smtp.passwordFile" ${file} is readable by every user on this machine (mode 0644), so any local program could read the mail password; lnstore will not use it until only its owner (and group) can read it: chmod o-rwx ${file}`,
    )
    expect((error as Error).message).not.to.contain('sekrit')
  })

  it('reads the password from an environment variable, and says when it is not set', async () => {
    expect((await resolveSmtp(config({passwordEnv: 'SMTP_PW'}), {SMTP_PW: 'x'})).password).to.equal('x')
    await resolveSmtp(config({passwordEnv: 'SMTP_PW'}), {}).then(
      () => expect.fail('resolved'),
      (error: Error) => expect(error.message).to.match(/names the environment variable SMTP_PW, but it is not set/),
    )
  })

  it('validates the alert settings with the key to fix', () => {
    const defaults = validateConfig({}, 'f')
    expect(defaults.alerts).to.deep.include({to: [], repeatHours: 24, scrubSummary: 'on-problems'})
    expect(defaults.alerts.smtp).to.deep.equal({tls: 'starttls', timeoutSeconds: 30})
    expect(defaults.schedule).to.deep.equal({scrubDay: 'sun', scrubTime: '03:00', randomDelayMinutes: 60, checkIntervalMinutes: 60})
    expect(defaults.monitor).to.deep.equal({checkIntervalMinutes: 5})
    expect(() => validateConfig({alerts: {to: ['ops']}}, 'f')).to.throw(ConfigError, '"alerts.to" must be a list of email addresses (name@example.org), not ["ops"]')
    expect(() => validateConfig({alerts: {to: ['a@b.org']}}, 'f')).to.throw(ConfigError, '"alerts.smtp.host" is needed to send mail to alerts.to')
    expect(() => validateConfig({alerts: {smtp: {tls: 'ssl'}}}, 'f')).to.throw(ConfigError, '"alerts.smtp.tls" must be one of implicit, starttls, none')
    expect(() => validateConfig({alerts: {smtp: {user: 'u'}}}, 'f')).to.throw(ConfigError, /"alerts.smtp.passwordFile" or "alerts.smtp.passwordEnv" is needed with a user/)
    expect(() => validateConfig({alerts: {smtp: {password: 'x'}}}, 'f')).to.throw(ConfigError, 'unknown key "alerts.smtp.password" (did you mean "alerts.smtp.passwordFile"?)')
    expect(() => validateConfig({schedule: {scrubTime: '3am'}}, 'f')).to.throw(ConfigError, '"schedule.scrubTime" must be a time of day as HH:MM (24 h), not "3am"')
    expect(() => validateConfig({monitor: {checkIntervalMinutes: 7}}, 'f')).to.throw(ConfigError, /"monitor.checkIntervalMinutes" must repeat evenly on the clock/)
    expect(maskSecrets({smtp: {passwordFile: '/etc/lnstore/pw', password: 'x'}})).to.deep.equal({smtp: {passwordFile: '/etc/lnstore/pw', password: '********'}})
  })

  it('turns nodemailer failures (as captured from a real server) into what to do', () => {
    const describe = (error: object) => describeSmtpError(error, settings)
    expect(describe({code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:587'})).to.equal(
      'cannot connect to the mail server mail.example.org:587 (STARTTLS): connection refused (is it running, and is the port right?)',
    )
    expect(describe({code: 'EAUTH', message: 'Invalid login: 535 Invalid username or password', response: '535 Invalid username or password'})).to.equal(
      'the mail server mail.example.org:587 (STARTTLS) refused the login as u: 535 Invalid username or password; check "alerts.smtp.user" and the password',
    )
    expect(describe({code: 'ESOCKET', message: 'self-signed certificate'})).to.match(/showed a TLS certificate lnstore does not trust \(self-signed certificate\); if the server is yours, set "alerts.smtp.caFile"/)
    expect(describe({code: 'ESOCKET', message: '80BC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'})).to.match(/does not speak TLS from the first byte; .* set "alerts.smtp.tls: starttls"/)
    expect(describe({code: 'ETLS', message: 'Error upgrading connection with STARTTLS: 500 Error: command not recognized', response: '500 Error: command not recognized'})).to.match(
      /does not offer STARTTLS \(500 Error: command not recognized\), and lnstore does not send a password or alerts in clear text/,
    )
    expect(describe({code: 'ETIMEDOUT', message: 'Greeting never received'})).to.match(/did not answer within 30 s \(Greeting never received\); a server that speaks TLS from the first byte/)
    expect(describe({code: 'EENVELOPE', message: 'x', response: '550 no such user'})).to.equal(
      'the mail server mail.example.org:587 (STARTTLS) refused the sender or the recipients (550 no such user); check "alerts.from" and "alerts.to"',
    )
  })
})
