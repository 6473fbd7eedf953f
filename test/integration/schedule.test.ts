import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {validate} from 'node-cron'

import {delayWeekly, stableDelayMinutes, weekly, WEEKDAYS} from '../../src/schedule/calendar.js'
import {lnstore} from '../support/cli.js'
import {backend, ensureZfs, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** `lnstore schedule` writing into a temporary root (the directories are flags/environment variables), with real pools for the Debian property. */
describe(`lnstore schedule install|show|remove (${backend})`, function () {
  const root = mkdtempSync(join(tmpdir(), 'lnstore-schedule-'))
  const dirs = {systemd: join(root, 'etc/systemd/system'), cron: join(root, 'etc/cron.d'), zed: join(root, 'etc/zfs/zed.d')}
  const config = join(root, 'config.json')
  const env = {LNSTORE_STATE_DIR: join(root, 'state'), LNSTORE_CONFIG: config, LNSTORE_SYSTEMD_DIR: dirs.systemd, LNSTORE_CRON_DIR: dirs.cron, LNSTORE_ZED_DIR: dirs.zed}
  const schedule = (...args: string[]) => lnstore(['schedule', ...args], {env})
  const sandbox = new ZfsSandbox()
  const listing = () => Object.fromEntries(Object.entries(dirs).map(([name, dir]) => [name, existsSync(dir) ? readdirSync(dir).sort() : []]))
  const property = (pool: PoolHandle) => sh('zfs', ['get', '-H', '-o', 'value,source', 'org.debian:periodic-scrub', pool.name]).trim()
  let pools: PoolHandle[]

  before(async () => {
    await ensureZfs()
    mkdirSync(dirs.cron, {recursive: true})
    mkdirSync(dirs.zed, {recursive: true})
    writeFileSync(config, JSON.stringify({schedule: {scrubDay: 'sat', scrubTime: '02:30'}}))
    pools = [sandbox.createPool('lnssched', [], sandbox.devices(1)), sandbox.createPool('lnssched2', [], sandbox.devices(1))]
  })

  after(() => sandbox.cleanup())

  it('--dry-run prints every file with its exact content and every command, and changes nothing', () => {
    const run = schedule('install', '--systemd', '--dry-run', '--no-zed')
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stdout).to.contain(`write ${dirs.systemd}/lnstore-scrub.timer (mode 644)\n`)
    expect(run.stdout).to.contain('\n    | OnCalendar=Sat *-*-* 02:30:00\n')
    expect(run.stdout).to.contain(`\n    | Environment=LNSTORE_CONFIG=${config}\n`)
    expect(run.stdout).to.contain(`record what was installed in ${join(root, 'state', 'schedule.json')}`)
    expect(listing()).to.deep.equal({systemd: [], cron: [], zed: []})
    expect(existsSync(join(root, 'state', 'schedule.json'))).to.equal(false)
  })

  it('asks before changing the system: without a terminal and without --yes it changes nothing', () => {
    const run = schedule('install', '--systemd')
    expect(run.status).to.equal(2)
    expect(run.errors).to.contain('nothing was changed: lnstore asks before changing the system and there is no terminal to ask on; run again with --yes')
    expect(listing()).to.deep.equal({systemd: [], cron: [], zed: []})
  })

  it('installs timers that systemd-analyze accepts and a zedlet where ZED runs; a second install changes nothing', () => {
    const run = schedule('install', '--systemd', '--yes', '--json')
    expect(run.status, run.stderr).to.equal(0)
    expect(run.json()).to.deep.include({dryRun: false, applied: true})
    expect(listing()).to.deep.equal({systemd: ['lnstore-check.service', 'lnstore-check.timer', 'lnstore-scrub.service', 'lnstore-scrub.timer'], cron: [], zed: ['all-lnstore.sh']})
    const units = readdirSync(dirs.systemd).map((unit) => join(dirs.systemd, unit))
    const verify = spawnSync('systemd-analyze', ['verify', ...units], {encoding: 'utf8'})
    expect(verify.status, verify.stderr).to.equal(0)
    expect(statSync(join(dirs.zed, 'all-lnstore.sh')).mode & 0o777).to.equal(0o755)

    const again = schedule('install', '--systemd', '--yes', '--json')
    expect(again.json()).to.deep.equal({dryRun: false, applied: false, steps: [], notes: [again.json().notes[0]]})
    expect(again.json().notes[0]).to.match(/^systemd is not running here: the units are written but not enabled/)
  })

  it('show says what is installed, whether it is as written, and when it runs next', () => {
    const show = schedule('show', '--json').json()
    expect(show.installed).to.deep.include({kind: 'systemd', scrub: {day: 'sat', hour: 2, minute: 30}, randomDelayMinutes: 60, checkEverySeconds: 3600})
    expect(show.files.every((file: any) => file.state === 'as written')).to.equal(true)
    const scrub = new Date(show.next.scrub)
    expect([scrub.getDay(), scrub.getHours(), scrub.getMinutes()]).to.deep.equal([6, 2, 30])
    expect(show.next.scrub).to.be.within(Date.now(), Date.now() + 7 * 86_400_000)
    expect(new Date(show.next.check).getMinutes()).to.equal(0)
    expect(schedule('show').stdout).to.match(/^installed: systemd timers, on .*\nweekly scrub: Sat 02:30; next .* plus a random delay of up to 60 min\nhealth check: every 60 min; next /)
  })

  it('switching to cron replaces the timers by one cron.d file whose lines parse', () => {
    const run = schedule('install', '--cron', '--yes', '--no-zed')
    expect(run.status, run.stderr).to.equal(0)
    expect(listing()).to.deep.equal({systemd: [], cron: ['lnstore'], zed: []})
    const noCron = !['/usr/sbin/cron', '/usr/sbin/crond', '/usr/bin/crond'].some((path) => existsSync(path))
    expect(run.stdout.includes('note: no cron daemon is installed here, so the cron file does nothing until one is (apt install cron)')).to.equal(noCron)
    const jobs = readFileSync(join(dirs.cron, 'lnstore'), 'utf8')
      .split('\n')
      .filter((line) => /^[\d*]/.test(line))
      .map((line) => line.split(/\s+/))
    expect(jobs).to.have.length(2)
    for (const fields of jobs) {
      expect(validate(fields.slice(0, 5).join(' '))).to.equal(true)
      expect(fields[5]).to.equal('root')
    }

    // Saturday 02:30 plus this machine's fixed delay (cron has no random one).
    const when = delayWeekly(weekly('sat', '02:30'), stableDelayMinutes(hostname(), 60))
    expect(jobs[0].slice(0, 5)).to.deep.equal([String(when.minute), String(when.hour), '*', '*', String(WEEKDAYS.indexOf(when.day))])
    expect(jobs[0].slice(8, 10)).to.deep.equal(['scrub', '--wait'])
  })

  it("turns Debian's monthly scrub off for each pool, and remove restores exactly what was there", () => {
    writeFileSync(join(dirs.cron, 'zfsutils-linux'), '24 0 8-14 * * root if [ $(date +\\%w) -eq 0 ]; then /usr/lib/zfs-linux/scrub; fi\n')
    sh('zfs', ['set', 'org.debian:periodic-scrub=enable', pools[0].name])
    const run = schedule('install', '--cron', '--yes', '--no-zed', '--pool', pools[0].name, '--pool', pools[1].name)
    expect(run.status, run.stderr).to.equal(0)
    expect(run.stdout).to.contain(`note: ${join(dirs.cron, 'zfsutils-linux')} scrubs ${pools[0].name} on the second Sunday of each month too: lnstore turns that off`)
    expect(pools.map(property)).to.deep.equal(['disable\tlocal', 'disable\tlocal'])

    const removed = schedule('remove', '--yes')
    expect(removed.status, removed.stderr).to.equal(0)
    expect(removed.stdout).to.contain(`run: zfs set org.debian:periodic-scrub=enable ${pools[0].name}\n`)
    expect(removed.stdout).to.contain(`run: zfs inherit org.debian:periodic-scrub ${pools[1].name}\n`)
    expect(pools.map(property)).to.deep.equal(['enable\tlocal', '-\t-'])
    expect(listing()).to.deep.equal({systemd: [], cron: ['zfsutils-linux'], zed: []})
    expect(existsSync(join(root, 'state', 'schedule.json'))).to.equal(false)
  })

  it("reports OpenZFS's own scrub timers and ZED's own mail", () => {
    mkdirSync(join(dirs.systemd, 'timers.target.wants'), {recursive: true})
    symlinkSync('/lib/systemd/system/zfs-scrub-monthly@.timer', join(dirs.systemd, 'timers.target.wants', 'zfs-scrub-monthly@tank.timer'))
    writeFileSync(join(dirs.zed, 'zed.rc'), '##\n# Email will only be sent if ZED_EMAIL_ADDR is defined.\nZED_EMAIL_ADDR="root"\n')
    const notes = schedule('show', '--json').json().notes
    expect(notes).to.deep.equal([
      "OpenZFS's zfs-scrub-monthly@tank.timer is enabled and scrubs pool tank monthly too; keep one scrub schedule: systemctl disable --now zfs-scrub-monthly@tank.timer",
      `ZED mails root about ZFS events itself (ZED_EMAIL_ADDR in ${join(dirs.zed, 'zed.rc')}); to keep lnstore the one channel, comment that line out and restart ZED: systemctl restart zfs-zed`,
    ])
  })

  it('never overwrites a file it did not write; remove takes a hand-edited timer away too, keeping a copy of it', () => {
    writeFileSync(join(dirs.cron, 'lnstore'), '# mine\n')
    const refused = schedule('install', '--cron', '--yes', '--no-zed')
    expect(refused.status).to.equal(1)
    expect(refused.errors).to.contain(`${join(dirs.cron, 'lnstore')} exists and was not written by lnstore; move it away (or remove it), then run \`lnstore schedule install\` again`)
    expect(readFileSync(join(dirs.cron, 'lnstore'), 'utf8')).to.equal('# mine\n')

    sh('rm', [join(dirs.cron, 'lnstore')])
    expect(schedule('install', '--systemd', '--yes', '--no-zed').status).to.equal(0)
    writeFileSync(join(dirs.systemd, 'lnstore-check.timer'), '# edited by hand\n')
    const removed = schedule('remove', '--yes')
    const copy = join(root, 'state', 'schedule-removed', 'lnstore-check.timer')
    expect(removed.status, removed.stderr).to.equal(0)
    expect(removed.stdout).to.contain(`note: ${join(dirs.systemd, 'lnstore-check.timer')} was changed since lnstore wrote it: removed all the same, your version is kept in ${copy}`)
    expect(readdirSync(dirs.systemd).sort()).to.deep.equal(['timers.target.wants'])
    expect(readFileSync(copy, 'utf8')).to.equal('# edited by hand\n')
  })
})
