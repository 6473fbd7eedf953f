import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {weekly} from '../../src/schedule/calendar.js'
import {renderFiles} from '../../src/schedule/files.js'
import {lnstoreAsync} from '../support/cli.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {waitFor} from '../support/wait.js'
import {backend, ensureZfs, onlyOn, printedName, sh, ZfsSandbox} from '../support/zfs-sandbox.js'

/** Runs a zedlet as ZED does: executable, a minimal PATH, the event in ZEVENT_* variables. */
async function runZedlet(path: string, lockDir: string, event: Record<string, string>): Promise<number | null> {
  const child = spawn(path, [], {env: {PATH: '/usr/bin:/bin:/usr/sbin:/sbin', ZED_LOCKDIR: lockDir, ZEVENT_EID: '42', ZED_PID: '1', ...event}, stdio: 'ignore'})
  return new Promise((resolve) => child.on('close', resolve))
}

const checksumEvent = (pool: string) => ({ZEVENT_CLASS: 'ereport.fs.zfs.checksum', ZEVENT_SUBCLASS: 'checksum', ZEVENT_POOL: pool, ZEVENT_VDEV_PATH: '/dev/sdb1'})

describe('the ZED hook (zedlet), run with the environment ZED passes', function () {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-zedlet-'))
  const calls = join(dir, 'calls')
  let zedlet: string

  before(async () => {
    // A stand-in for lnstore that notes each call and takes a moment, as a health check does.
    const fake = join(dir, 'fake-lnstore')
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> '${calls}'\nsleep 0.3\n`)
    chmodSync(fake, 0o755)
    const spec = {kind: 'cron' as const, scrub: weekly('sun', '03:00'), randomDelayMinutes: 0, checkEverySeconds: 3600, command: [fake], environment: {}, zedlet: true, host: 'h', stateDir: dir, config: validateConfig({}, 'test')}
    const file = (await renderFiles(spec, {systemdDir: dir, cronDir: dir, zedDir: dir})).find((candidate) => candidate.path.endsWith('all-lnstore.sh'))!
    writeFileSync(file.path, file.content)
    chmodSync(file.path, file.mode)
    zedlet = file.path
  })

  const recorded = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [])

  it('runs a health check of the pool at once on a checksum error, and on a state change (class only, no subclass)', async () => {
    writeFileSync(calls, '')
    expect(await runZedlet(zedlet, dir, checksumEvent('tank'))).to.equal(0)
    expect(await runZedlet(zedlet, dir, {ZEVENT_CLASS: 'resource.fs.zfs.statechange', ZEVENT_POOL: 'backup', ZEVENT_VDEV_STATE_STR: 'FAULTED'})).to.equal(0)
    expect(recorded()).to.deep.equal(['status --pool tank', 'status --pool backup'])
  })

  it('runs a health check at once when a pool is suspended (io_failure), instead of at the next timer', async () => {
    writeFileSync(calls, '')
    // What ZED passes for a pool that ZFS suspended after I/O failures (failmode=wait).
    expect(await runZedlet(zedlet, dir, {ZEVENT_CLASS: 'ereport.fs.zfs.io_failure', ZEVENT_SUBCLASS: 'io_failure', ZEVENT_POOL: 'tank', ZEVENT_POOL_FAILMODE: 'wait'})).to.equal(0)
    expect(recorded()).to.deep.equal(['status --pool tank'])
  })

  it('ignores events that say nothing about health', async () => {
    writeFileSync(calls, '')
    for (const subclass of ['history_event', 'config_sync', 'pool_import']) {
      expect(await runZedlet(zedlet, dir, {ZEVENT_CLASS: `sysevent.fs.zfs.${subclass}`, ZEVENT_SUBCLASS: subclass, ZEVENT_POOL: 'tank'})).to.equal(0)
    }

    expect(recorded()).to.deep.equal([])
  })

  it('collapses a burst of events (a scrub finding many bad blocks) into a few checks, and leaves none unchecked', async () => {
    writeFileSync(calls, '')
    const codes = await Promise.all(Array.from({length: 20}, () => runZedlet(zedlet, dir, checksumEvent('tank'))))
    expect(codes.every((code) => code === 0)).to.equal(true)
    const checks = recorded()
    expect(checks.length).to.be.within(1, 5)
    expect(new Set(checks)).to.deep.equal(new Set(['status --pool tank']))
    // Every event's mark was taken by a check that started after it.
    expect(readdirSync(dir).filter((name) => name.endsWith('.pending'))).to.deep.equal([])
  })
})

/** Where `lnstore schedule install` writes (all under `root`), and a config that mails through the test server on `port`. */
function installEnv(root: string, port: number) {
  return {
    LNSTORE_STATE_DIR: join(root, 'state'),
    LNSTORE_CONFIG: alertConfig(root, port),
    LNSTORE_SYSTEMD_DIR: join(root, 'systemd'),
    LNSTORE_CRON_DIR: join(root, 'cron.d'),
    LNSTORE_ZED_DIR: join(root, 'zed.d'),
  }
}

describe(`the installed zedlet with the real lnstore on real ZFS (${backend}): a fault becomes a mail`, function () {
  const sandbox = new ZfsSandbox()
  const root = mkdtempSync(join(tmpdir(), 'lnstore-zedlet-real-'))
  const server = new TestSmtpServer()

  before(async () => {
    await ensureZfs()
  })

  after(async () => {
    sandbox.cleanup()
    await server.stop()
  })

  it('ZED reports a device taken offline; the zedlet runs lnstore status, which mails the alert', async () => {
    const mirror = sandbox.createPool('lnszed', ['mirror'], sandbox.devices(2))
    await sandbox.scrub(mirror)
    const env = installEnv(root, await server.start())
    mkdirSync(env.LNSTORE_ZED_DIR) // where ZED runs, its zedlet directory exists
    const install = await lnstoreAsync(['schedule', 'install', '--cron', '--zed', '--yes', '--pool', mirror.name], {env})
    expect(install.status, install.stderr).to.equal(0)
    const baseline = await lnstoreAsync(['status', '--pool', mirror.name], {env})
    expect(baseline.status, baseline.stdout).to.equal(0)

    sh('zpool', ['offline', mirror.name, mirror.devices[1]])
    try {
      const event = {ZEVENT_CLASS: 'resource.fs.zfs.statechange', ZEVENT_SUBCLASS: 'statechange', ZEVENT_POOL: mirror.name, ZEVENT_VDEV_PATH: mirror.devices[1], ZEVENT_VDEV_STATE_STR: 'OFFLINE'}
      expect(await runZedlet(join(env.LNSTORE_ZED_DIR, 'all-lnstore.sh'), root, event)).to.equal(0)
      const [mail] = await server.waitFor(1)
      expect(mail.subject).to.equal(`[lnstore] CRITICAL: pool ${mirror.name} on ${hostname()}: mirror-0 has no redundant copy left (${printedName(mirror.devices[1])} missing): one more failure loses data`)
    } finally {
      sh('zpool', ['online', mirror.name, mirror.devices[1]])
    }
  })
})

describe(`ZED itself runs the installed zedlet (${backend}): a checksum error becomes a mail within seconds`, function () {
  const sandbox = new ZfsSandbox()
  const root = mkdtempSync(join(tmpdir(), 'lnstore-zed-'))
  const server = new TestSmtpServer()
  let zed: ReturnType<typeof spawn> | undefined

  after(async () => {
    zed?.kill('SIGTERM')
    sandbox.cleanup()
    await server.stop()
  })

  it('corrupt one side of a mirror and scrub: ZED sees the checksum errors, the zedlet runs lnstore status, the alert arrives by SMTP', async function () {
    onlyOn('kernel', this, 'zfs-fuse has no ZED (the VM tier runs this with the OpenZFS event daemon)')
    await ensureZfs()
    const mirror = sandbox.createPool('lnszedreal', ['mirror'], sandbox.devices(2))
    sandbox.fill(mirror, 40)
    await sandbox.scrub(mirror)
    const env = installEnv(root, await server.start())
    mkdirSync(env.LNSTORE_ZED_DIR)
    const install = await lnstoreAsync(['schedule', 'install', '--cron', '--zed', '--yes', '--pool', mirror.name], {env})
    expect(install.status, install.stderr).to.equal(0)
    const baseline = await lnstoreAsync(['status', '--pool', mirror.name], {env})
    expect(baseline.status, baseline.stdout).to.equal(0)

    // ZED with only lnstore's zedlet, from a clean event queue (earlier tests in this VM made events of their own).
    sh('zpool', ['events', '-c'])
    zed = spawn('zed', ['-F', '-d', env.LNSTORE_ZED_DIR, '-p', join(root, 'zed.pid'), '-s', join(root, 'zed.state')], {stdio: ['ignore', 'inherit', 'inherit']})
    await waitFor('ZED to write its pid file', () => existsSync(join(root, 'zed.pid')) || zed!.exitCode !== null)
    expect(zed!.exitCode, 'ZED exited at start').to.equal(null)

    const [victim] = mirror.devices
    sandbox.corrupt(mirror, victim)
    const faulted = Date.now()
    sh('zpool', ['scrub', mirror.name]) // not followed by the test: only ZED's zedlet runs lnstore from here on
    const [mail] = await server.waitFor(1)
    console.log(`      (ZED → zedlet → lnstore status → SMTP: ${((mail.receivedAt - faulted) / 1000).toFixed(1)} s after the scrub started)`)
    // Which of the two depends on whether ZED's own diagnosis (10 checksum errors in 10 minutes →
    // the vdev DEGRADED) came before the zedlet's health check: both are the right alert.
    const finding = `(ZFS DEGRADED this device after too many checksum errors|\\d+ checksum errors within .*)`
    expect(mail.subject, mail.subject).to.match(new RegExp(`^\\[lnstore\\] CRITICAL: pool ${mirror.name} on ${hostname()}: ${printedName(victim)}: ${finding}$`))
    expect(sh('zpool', ['events', '-H'])).to.match(/ereport\.fs\.zfs\.checksum/)
  })
})
