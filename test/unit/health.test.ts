import {expect} from 'chai'

import {validateConfig} from '../../src/config/schema.js'
import {EMPTY_HISTORY, recordReport, type History} from '../../src/state/history.js'
import {evaluateHealth, type HealthReport} from '../../src/zfs/health.js'
import {worst, type Finding} from '../../src/storage/verdict.js'
import {parseStatus} from '../../src/zfs/status-json.js'
import {walkVdevs, type StatusReport} from '../../src/zfs/status-model.js'
import {fixture} from '../support/fixtures.js'

const config = validateConfig({}, 'test').health
const DAY = 86_400_000
/** Two days after the fixtures' scrubs (Nov 24 2026), so "last scrub" is recent. */
const NOW = new Date(2026, 10, 26, 12, 0, 0).getTime()

function judge(report: StatusReport, options: {history?: History; now?: number; capacity?: number} = {}): HealthReport {
  const capacity = options.capacity === undefined ? null : report.pools.map((pool) => ({name: pool.name, sizeBytes: 1, allocatedBytes: 1, freeBytes: 0, capacityPercent: options.capacity!, health: pool.state}))
  return evaluateHealth({report, capacity, history: options.history ?? EMPTY_HISTORY, config, now: options.now ?? NOW})
}

const messages = (findings: Finding[]) => findings.map((finding) => `${finding.verdict}: ${finding.message}`)
const deviceFindings = (health: HealthReport, name: string) => {
  for (const pool of health.pools) for (const [vdev, device] of pool.devices) if (vdev.name === name) return device
  throw new Error(`no device ${name}`)
}

/** The healthy mirror, with a scrub finished at `scrubbedAt` and counters set per device. */
function mirror(counters: Record<string, number> = {}, scrubbedAt = 'Tue Nov 24 20:45:31 2026'): StatusReport {
  const lines = fixture('openzfs-2.3.2/002-mirror-healthy.txt')
    .replace(' state: ONLINE\n', ` state: ONLINE\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on ${scrubbedAt}\n`)
    .split('\n')
    .map((line) => {
      const device = /^\t    (vd[bc]) /.exec(line)?.[1]
      return device && counters[device] ? line.replace(/0$/, String(counters[device])) : line
    })
  return parseStatus(lines.join('\n'))
}

describe('health verdicts', () => {
  it('a healthy, recently scrubbed mirror is OK', () => {
    const health = judge(mirror(), {capacity: 40})
    expect(health.verdict).to.equal('OK')
    expect(health.pools[0].lastScrub?.endedAt).to.equal(new Date(2026, 10, 24, 20, 45, 31).getTime())
  })

  it('existing checksum errors are a WARNING with the commands to look and clear', () => {
    const health = judge(parseStatus(fixture('openzfs-2.3.2/013-scrub-repaired-cksum.txt')))
    const vdb = deviceFindings(health, 'vdb')
    expect(vdb.verdict).to.equal('WARNING')
    expect(vdb.findings[0].message).to.equal('0 read, 0 write, 75 checksum errors since the counters were last cleared; once the cause is understood, zpool clear tank vdb')
    // Advice runs verbatim: one command, the words around it in the message.
    expect(vdb.findings[0].next).to.equal('zpool status -v tank')
    expect(health.verdict).to.equal('WARNING')
  })

  it("errors arriving as fast as ZED's threshold make the device CRITICAL, with its rate", () => {
    const before = recordReport(EMPTY_HISTORY, mirror(), NOW - 5 * 60_000, 35)
    const after = recordReport(before, mirror({vdb: 12}), NOW, 35)
    const vdb = deviceFindings(judge(mirror({vdb: 12}), {history: after}), 'vdb')
    expect(vdb.verdict).to.equal('CRITICAL')
    expect(messages(vdb.findings)[0]).to.match(/^CRITICAL: 12 checksum errors within 5m \(ZFS's own fault threshold is 10 in 10m\)/)
    expect(vdb.rates).to.include({lastHour: 12, lastDay: 12})
  })

  it('a few new errors are a WARNING that says how fast they come', () => {
    const history = recordReport(recordReport(EMPTY_HISTORY, mirror(), NOW - 3 * 3_600_000, 35), mirror({vdb: 2}), NOW, 35)
    const vdb = deviceFindings(judge(mirror({vdb: 2}), {history}), 'vdb')
    expect(messages(vdb.findings)).to.deep.equal(['WARNING: 2 new errors in the last day (2 in the last hour)'])
    const one = recordReport(recordReport(EMPTY_HISTORY, mirror(), NOW - 3 * 3_600_000, 35), mirror({vdb: 1}), NOW, 35)
    expect(messages(deviceFindings(judge(mirror({vdb: 1}), {history: one}), 'vdb').findings)).to.deep.equal(['WARNING: 1 new error in the last day (1 in the last hour)'])
  })

  it('a slow burn over weeks says to plan a replacement', () => {
    let history = recordReport(EMPTY_HISTORY, mirror(), NOW - 20 * DAY, 35)
    for (let day = 19; day >= 0; day--) history = recordReport(history, mirror({vdb: 20 - day}), NOW - day * DAY, 35)
    const vdb = deviceFindings(judge(mirror({vdb: 20}), {history}), 'vdb')
    expect(vdb.verdict).to.equal('CRITICAL')
    expect(vdb.findings[0].message).to.match(/^20 errors over the last 30 days: plan a replacement/)
  })

  it('errors every member gained at once stop counting against the disks once `zpool clear` settled them (a suspended pool, a cable); a disk\'s own errors, or errors after the clear, still count', () => {
    const before = recordReport(EMPTY_HISTORY, mirror(), NOW - 40 * 60_000, 35)
    const suspended = recordReport(before, mirror({vdb: 68, vdc: 61}), NOW - 30 * 60_000, 35)
    // While it lasts: a burst on each disk, pointing at what they share.
    const during = judge(mirror({vdb: 68, vdc: 61}), {history: suspended})
    expect(deviceFindings(during, 'vdb').verdict).to.equal('CRITICAL')
    expect(messages(during.pools[0].findings).join('\n')).to.contain('2 of 2 members of mirror-0 have errors at once')

    const cleared = recordReport(suspended, mirror(), NOW, 35)
    const after = judge(mirror(), {history: cleared, capacity: 40})
    expect(after.verdict).to.equal('OK')
    expect(deviceFindings(after, 'vdb').rates).to.include({lastHour: 0, lastDay: 0, lastWindow: 0})
    expect(messages(after.pools[0].findings)).to.include(
      'OK: errors came on every member of mirror-0 at once (vdb: 68, vdc: 61) before the last `zpool clear`: a shared cause (cable, controller, the pool suspended), not counted against the disks',
    )

    // One disk's own errors are its own, cleared or not.
    const alone = recordReport(recordReport(before, mirror({vdb: 68}), NOW - 30 * 60_000, 35), mirror(), NOW, 35)
    expect(deviceFindings(judge(mirror(), {history: alone}), 'vdb').findings[0].message).to.match(/^68 errors over the last 30 days: plan a replacement/)
    // Errors that go on after the clear count again.
    const again = recordReport(cleared, mirror({vdb: 12, vdc: 12}), NOW + 60_000, 35)
    expect(deviceFindings(judge(mirror({vdb: 12, vdc: 12}), {history: again, now: NOW + 60_000}), 'vdb').verdict).to.equal('CRITICAL')
  })

  it('after a suspended pool is cleared, the checksum errors of the side that missed writes are the incident\'s: a scrub proves the copies, not a replacement', () => {
    // Read/write/checksum counters per device (the mirror() helper above sets checksum errors only).
    const counters = (values: Record<string, [number, number, number]>, scan = '') =>
      parseStatus(
        fixture('openzfs-2.3.2/002-mirror-healthy.txt')
          .replace(' state: ONLINE\n', ` state: ONLINE\n${scan}`)
          .split('\n')
          .map((line) => {
            const device = /^\t    (vd[bc]) /.exec(line)?.[1]
            return device && values[device] ? line.replace(/0 +0 +0$/, values[device].join('     ')) : line
          })
          .join('\n'),
      )
    const before = recordReport(EMPTY_HISTORY, counters({}), NOW - 40 * 60_000, 35)
    // Checks while it lasts see the counters move, not always on both sides at once.
    const suspended = recordReport(recordReport(before, counters({vdb: [3, 56, 0], vdc: [3, 58, 0]}), NOW - 31 * 60_000, 35), counters({vdb: [3, 65, 0], vdc: [3, 58, 0]}), NOW - 30 * 60_000, 35)
    // zpool clear; the resilver finds 12 stale blocks on vdb and repairs them from vdc.
    const resilvered = counters({vdb: [0, 0, 12]})
    const after = judge(resilvered, {history: recordReport(suspended, resilvered, NOW - 20 * 60_000, 35), now: NOW - 20 * 60_000})
    const vdb = deviceFindings(after, 'vdb')
    expect(vdb.rates).to.include({lastDay: 0})
    expect(messages(vdb.findings)).to.deep.equal([
      'WARNING: 12 checksum errors since the `zpool clear` after errors on every member at once: blocks it missed while it could not be written, repaired from the other side; a scrub proves every copy good, then the counters can be reset',
    ])
    expect(vdb.findings[0].next).to.equal('lnstore scrub --wait --pool tank && zpool clear tank')
    expect(after.verdict).to.equal('WARNING')

    // The scrub finds every copy good: OK; the clear that follows leaves nothing to say about the disks.
    const ended = new Date(NOW - 10 * 60_000)
    const zpoolDate = `${ended.toDateString().slice(0, 10)} ${ended.toTimeString().slice(0, 8)} ${ended.getFullYear()}`
    const scrubbed = counters({vdb: [0, 0, 12]}, `  scan: scrub repaired 0B in 00:00:01 with 0 errors on ${zpoolDate}\n`)
    const history = recordReport(recordReport(suspended, resilvered, NOW - 20 * 60_000, 35), scrubbed, NOW - 5 * 60_000, 35)
    const clean = judge(scrubbed, {history, now: NOW - 5 * 60_000})
    expect(deviceFindings(clean, 'vdb').verdict).to.equal('OK')
    expect(clean.verdict).to.equal('OK')
    const cleared = judge(counters({}), {history: recordReport(history, counters({}), NOW, 35), capacity: 40})
    expect(cleared.verdict).to.equal('OK')
    expect(deviceFindings(cleared, 'vdb').rates).to.include({lastDay: 0, lastWindow: 0})

    // The same when a check ran right after the clear, before the resilver found the stale blocks.
    const checkedEarly = recordReport(recordReport(suspended, counters({}), NOW - 25 * 60_000, 35), resilvered, NOW - 20 * 60_000, 35)
    expect(messages(deviceFindings(judge(resilvered, {history: checkedEarly, now: NOW - 20 * 60_000}), 'vdb').findings)[0]).to.match(/^WARNING: 12 checksum errors since the `zpool clear`/)

    // A side that only failed reads missed no writes: its later checksum errors are its own.
    const readsOnly = recordReport(before, counters({vdb: [5, 0, 0], vdc: [4, 0, 0]}), NOW - 30 * 60_000, 35)
    const own = judge(resilvered, {history: recordReport(readsOnly, resilvered, NOW - 20 * 60_000, 35), now: NOW - 20 * 60_000})
    expect(deviceFindings(own, 'vdb').verdict).to.equal('CRITICAL')
  })

  it('errors on every member of a mirror at once point at the cable or controller', () => {
    const health = judge(mirror({vdb: 3, vdc: 4}))
    expect(messages(health.pools[0].findings)).to.include(
      'WARNING: 2 of 2 members of mirror-0 have errors at once: this points at a shared cable, USB bridge, controller or power supply, not at the disks; replacing disks would not help. Check `dmesg` for link resets and the cabling first',
    )
    expect(messages(judge(mirror({vdb: 3})).pools[0].findings).join()).not.to.match(/at once/)
  })

  it('while every member of a mirror errs at once, nothing advises replacing a disk: the advice is the shared cause', () => {
    const before = recordReport(EMPTY_HISTORY, mirror(), NOW - 5 * 60_000, 35)
    const health = judge(mirror({vdb: 12, vdc: 15}), {history: recordReport(before, mirror({vdb: 12, vdc: 15}), NOW, 35)})
    const vdb = deviceFindings(health, 'vdb')
    // The burst is still CRITICAL: the errors are real, only their cause is not the disk.
    expect(vdb.verdict).to.equal('CRITICAL')
    expect(messages(vdb.findings)[0]).to.match(/^CRITICAL: 12 checksum errors within 5m .*; but every member errs at once, so not the disk: fix the shared cause first$/)
    const advice = [...health.pools[0].findings, ...[...health.pools[0].devices.values()].flatMap((device) => device.findings)].map((finding) => finding.next)
    expect(advice.filter((next) => next?.includes('replace-disk'))).to.deep.equal([])
    expect(advice).to.include('zpool clear tank && zpool scrub tank')
    // One member alone erring is the disk: its advice stays the replacement.
    const alone = judge(mirror({vdb: 12}), {history: recordReport(before, mirror({vdb: 12}), NOW, 35)})
    expect(deviceFindings(alone, 'vdb').findings[0].next).to.equal('lnstore replace-disk vdb <new-device> --i-understand')
  })

  it('an OFFLINE member of a two-way mirror leaves no redundant copy: CRITICAL', () => {
    const health = judge(parseStatus(fixture('openzfs-2.3.2/017-degraded-offline.txt')))
    expect(health.verdict).to.equal('CRITICAL')
    expect(messages(health.pools[0].findings)).to.include.members([
      'WARNING: pool is DEGRADED: a device has failed or is offline',
      'CRITICAL: mirror-0 has no redundant copy left (vdc missing): one more failure loses data',
    ])
    expect(deviceFindings(health, 'vdc').findings[0]).to.deep.include({verdict: 'WARNING', next: 'zpool online tank vdc'})
  })

  it('a raidz2 that lost one disk survives one more failure: WARNING', () => {
    const health = judge(parseStatus(fixture('public/freebsd-raidz2-faulted-replacing-no-eta.txt')))
    expect(messages(health.pools[0].findings).join('\n')).to.match(/raidz2-0 has lost redundancy \(.+\) and survives 1 more failure/)
  })

  it('a resilver in progress is a WARNING with progress', () => {
    const health = judge(parseStatus(fixture('openzfs-2.3.2/019-resilver-replacing.txt')))
    expect(messages(health.pools[0].findings)).to.include('WARNING: resilver in progress (0% done): redundancy is being restored')
  })

  it('permanent data errors are CRITICAL', () => {
    const health = judge(parseStatus(fixture('public/zfsonlinux-0.6-permanent-errors-hex-object.txt')))
    expect(health.verdict).to.equal('CRITICAL')
    expect(messages(health.pools[0].findings).join('\n')).to.match(/CRITICAL: permanent data errors/)
    // The advice tells a passing fault's stale entries from damage, and resets counters only on a pool found whole.
    const {name} = health.pools[0]
    expect(health.pools[0].findings.find((finding) => finding.message.startsWith('permanent data errors'))?.next).to.equal(`lnstore scrub --wait --pool ${name} && zpool clear ${name}`)
  })

  it('permanent errors on zfs-fuse name the files; the node database gets its own warning against restoring a backup', () => {
    const report = parseStatus(fixture('zfs-fuse-0.7.0/permanent-errors-v.txt'))
    const database = '/tmp/hr-perm-BFUS/mnt/lightning/bitcoin/lightningd.sqlite3'
    expect(report.pools[0].errors?.files).to.deep.equal(['/tmp/hr-perm-BFUS/mnt/data.bin', database])
    const findings = messages(judge(report).pools[0].findings)
    expect(findings).to.include(`CRITICAL: permanent data errors in 2 files: /tmp/hr-perm-BFUS/mnt/data.bin, ${database}: ZFS read no good copy of them. A passing fault (a cable, a suspended pool) leaves such entries for blocks that are whole again; a scrub re-reads every block and drops those, so what it leaves listed is damage`)
    expect(findings.find((line) => line.startsWith(`CRITICAL: ${database} is the node's channel database`))).to.contain('"restore the file from backup" is exactly the hazard')
    // The same name seen through an unmounted dataset (`dataset:/path`) is recognised too.
    const unmounted = parseStatus(fixture('zfs-fuse-0.7.0/permanent-errors-v.txt').replace(database, 'tank/lightning:/bitcoin/lightningd.sqlite3'))
    expect(messages(judge(unmounted).pools[0].findings).some((line) => line.includes("tank/lightning:/bitcoin/lightningd.sqlite3 is the node's channel database"))).to.equal(true)
  })

  it('dRAID: a distributed spare in use names the failed disk it stands in for, and the advice replaces that disk', () => {
    const health = judge(parseStatus(fixture('public/openzfs-2.0-draid-sequential-resilver-spare-inuse.txt')))
    const spare = [...health.pools[0].devices.entries()].find(([vdev]) => vdev.role === 'spare')![1]
    expect(spare.findings).to.deep.equal([
      {
        verdict: 'WARNING',
        message: "distributed spare (dRAID: space spread over all the vdev's disks, not a disk) is in use in place of sdg; it returns to AVAIL by itself once the new disk has resilvered",
        // Advice runs as printed: the words are in the message.
        next: 'lnstore replace-disk sdg <new-device>',
      },
    ])
    // A hot spare in use beside a device that is ONLINE (attached by hand): give the spare back.
    const classic = judge(parseStatus(fixture('openzfs-2.1.11/232-spare-inuse.txt')))
    const inUse = [...classic.pools[0].devices.entries()].find(([vdev]) => vdev.role === 'spare' && vdev.state === 'INUSE')![1]
    expect(inUse.findings[0]).to.deep.equal({
      verdict: 'WARNING',
      message: 'hot spare is in use beside virtio-lnstore-disk1, which is ONLINE again; detaching the spare returns it, and virtio-lnstore-disk1 keeps the data',
      next: 'zpool detach tank virtio-lnstore-disk7',
    })
  })

  it('a device marked "too many errors" or UNAVAIL is CRITICAL; a suspended pool too', () => {
    const health = judge(parseStatus(fixture('public/openzfs-0.7-dev-unavail-suspended-scrub.txt')))
    expect(health.verdict).to.equal('CRITICAL')
    const verdicts = health.pools.flatMap((pool) => [...pool.devices.values()].map((device) => device.verdict))
    expect(verdicts).to.include('CRITICAL')
  })

  it('a suspended pool (printed UNAVAIL, "scrub in progress") is SUSPENDED and CRITICAL, with zpool clear after the cause is fixed', () => {
    for (const [file, printed] of [
      ['public/openzfs-0.7-dev-unavail-suspended-scrub.txt', 'UNAVAIL'],
      ['public/openzfs-0.8-unavail-suspended-no-blank-before-errors.txt', 'UNAVAIL'],
      ['public/solaris-unavail-io-failures-permanent-errors.txt', 'UNAVAIL'],
    ]) {
      const report = parseStatus(fixture(file))
      expect(report.pools[0], file).to.include({state: 'SUSPENDED', printedState: printed})
      const health = judge(report)
      const pool = health.pools[0]
      expect(pool.verdict, file).to.equal('CRITICAL')
      const suspended = pool.findings.find((finding) => finding.message.startsWith('pool is SUSPENDED'))
      expect(suspended, file).to.deep.include({verdict: 'CRITICAL', next: `zpool clear ${report.pools[0].name} && lnstore status`})
      expect(suspended!.message).to.contain('Fix the cause first')
      expect(messages(pool.findings).join('\n'), file).not.to.contain('OK: scrub in progress')
    }
  })

  it('scrubs: never, too old, and long paused are WARNINGs', () => {
    // A pool lnstore has watched for longer than the scrub limit and that was never scrubbed.
    const neverScrubbed = parseStatus(fixture('openzfs-2.3.2/002-mirror-healthy.txt'))
    const watchedLong = recordReport(EMPTY_HISTORY, neverScrubbed, NOW - 9 * DAY, 35)
    expect(messages(judge(neverScrubbed, {history: watchedLong}).pools[0].findings)).to.include('WARNING: the pool has never been scrubbed: silent corruption would go unnoticed')
    expect(messages(judge(mirror(), {now: NOW + 10 * DAY}).pools[0].findings)).to.include('WARNING: last completed scrub was 11 days ago (limit 8)')
    const paused = mirror()
    paused.pools[0].scan = {...paused.pools[0].scan, kind: 'scrub', state: 'paused', pausedAt: NOW - 9 * 3_600_000}
    expect(messages(judge(paused).pools[0].findings)).to.include('WARNING: scrub paused for 9h 0m')
  })

  it('a new pool is not WARNING on day one for never having been scrubbed: it gets the scrub limit as grace', () => {
    const fresh = parseStatus(fixture('openzfs-2.3.2/002-mirror-healthy.txt'))
    const health = judge(fresh, {capacity: 10})
    expect(health.verdict).to.equal('OK')
    expect(messages(health.pools[0].findings)).to.include('OK: the pool has never been scrubbed yet; the first scrub is due within 8d 0h (the weekly timer, or now: zpool scrub tank)')
    const seenTwoDaysAgo = recordReport(EMPTY_HISTORY, fresh, NOW - 2 * DAY, 35)
    expect(messages(judge(fresh, {history: seenTwoDaysAgo}).pools[0].findings).join('\n')).to.contain('the first scrub is due within 6d 0h')
  })

  it('remembers the last scrub when the status shows a resilver since', () => {
    const scrubbed = recordReport(EMPTY_HISTORY, mirror(), NOW - DAY, 35)
    const resilvered = parseStatus(fixture('openzfs-2.3.2/019-resilver-replacing.txt'))
    const health = judge(resilvered, {history: scrubbed})
    expect(health.pools[0].lastScrub?.endedAt).to.equal(new Date(2026, 10, 24, 20, 45, 31).getTime())
    expect(messages(health.pools[0].findings).join()).not.to.match(/scrub/)
  })

  it('capacity: WARNING at 80%, CRITICAL at 90%', () => {
    expect(judge(mirror(), {capacity: 85}).verdict).to.equal('WARNING')
    expect(judge(mirror(), {capacity: 93}).verdict).to.equal('CRITICAL')
  })

  it('a single-device vdev has no redundancy: WARNING', () => {
    const health = judge(parseStatus(fixture('public/openzfs-0.8-scrub-no-estimated-completion.txt')))
    expect(messages(health.pools[0].findings)).to.include("WARNING: encrypted_nvme is a single device with no redundancy: if it fails, the pool's data is lost")
  })

  it('a truncated output cannot be judged: UNKNOWN', () => {
    const text = fixture('openzfs-2.3.2/002-mirror-healthy.txt')
    expect(judge(parseStatus(text.slice(0, text.indexOf('errors:')))).verdict).to.equal('UNKNOWN')
  })

  it('no pools at all is UNKNOWN; `-x` "all pools are healthy" is OK', () => {
    expect(judge({pools: [], allHealthy: false, dialect: 'text'}).verdict).to.equal('UNKNOWN')
    expect(judge({pools: [], allHealthy: true, dialect: 'text'}).verdict).to.equal('OK')
  })

  it('a failed cache device costs speed only: never above WARNING', () => {
    const report = parseStatus(fixture('public/zfsonlinux-0.6-resilver-logs-mirror-cache.txt'))
    const cache = [...walkVdevs(report.pools[0].vdevs)].find((vdev) => vdev.role === 'cache')!
    cache.state = 'FAULTED'
    expect(deviceFindings(judge(report), cache.name).verdict).to.equal('WARNING')
  })

  it('aggregates as monitoring systems do', () => {
    expect(worst(['OK', 'WARNING'])).to.equal('WARNING')
    expect(worst(['WARNING', 'UNKNOWN'])).to.equal('UNKNOWN')
    expect(worst(['UNKNOWN', 'CRITICAL', 'OK'])).to.equal('CRITICAL')
    expect(worst([])).to.equal('OK')
  })

  describe('advice is a command accepted as printed', () => {
    const pool = (layout: string, members: [string, string][]) =>
      parseStatus(`  pool: tank\n state: ONLINE\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:45:31 2026\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\ttank        ONLINE       0     0     0\n${
        layout ? `\t  ${layout}  ONLINE       0     0     0\n` : ''
      }${members.map(([name, state]) => `\t${layout ? '    ' : '  '}${name}  ${state}       0     0     0`).join('\n')}\n\nerrors: No known data errors\n`)
    const nexts = (health: HealthReport, device: string) => deviceFindings(health, device).findings.map((finding) => finding.next)

    it('a dead disk of a two-way mirror: replace it, no --i-understand (nothing is left to lower); the healthy side points at the dead one', () => {
      const health = judge(pool('mirror-0', [['vdb', 'ONLINE'], ['vdc', 'UNAVAIL']]))
      expect(nexts(health, 'vdc')).to.deep.equal(['lnstore replace-disk vdc <new-device>'])
      expect(health.pools[0].findings.map((finding) => finding.next)).to.include('lnstore replace-disk vdc <new-device>')
    })

    it('a failing but present disk of a two-way mirror: the replace lowers the redundancy left to none, so the advice says --i-understand', () => {
      const health = judge(pool('mirror-0', [['vdb', 'DEGRADED'], ['vdc', 'ONLINE']]))
      expect(nexts(health, 'vdb')).to.deep.equal(['lnstore replace-disk vdb <new-device> --i-understand'])
    })

    it('a faulted disk of a three-way mirror, raidz1 or raidz2: replace it as printed', () => {
      for (const layout of ['mirror-0', 'raidz1-0', 'raidz2-0']) {
        const health = judge(pool(layout, [['vdb', 'ONLINE'], ['vdc', 'ONLINE'], ['vdd', 'FAULTED'], ...(layout === 'raidz2-0' ? [['vde', 'ONLINE'] as [string, string]] : [])]))
        expect(nexts(health, 'vdd'), layout).to.deep.equal(['lnstore replace-disk vdd <new-device>'])
      }
    })

    it('a single-disk pool: zpool attach, never a replace it has no copy to make from; files get --allow-files', () => {
      const health = judge(pool('', [['vdb', 'DEGRADED']]))
      expect(nexts(health, 'vdb')).to.deep.equal(['zpool attach tank vdb <new-device>'])
      const files = judge(pool('mirror-0', [['/srv/disk0', 'ONLINE'], ['/srv/disk1', 'FAULTED'], ['/srv/disk2', 'ONLINE']]))
      expect(nexts(files, '/srv/disk1')).to.deep.equal(['lnstore replace-disk /srv/disk1 <new-device> --allow-files'])
    })

    it('a pool of 4,500 devices (the benchmark\'s largest): the last device\'s advice knows whether the pool is on disks or files', () => {
      // The pool is judged on files once, not once per device: the benchmark (npm run bench, part b) shows the cost per device flat.
      const large = (device: (index: number, side: string) => string) => {
        const rows = Array.from({length: 2250}, (_, i) => `\t  mirror-${i}  ONLINE       0     0     0\n\t    ${device(i, 'a')}  ONLINE       0     0     0\n\t    ${device(i, 'b')}  ${i === 2249 ? 'FAULTED' : 'ONLINE '}      0     0     0`)
        return parseStatus(`  pool: tank\n state: DEGRADED\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:45:31 2026\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\ttank        DEGRADED     0     0     0\n${rows.join('\n')}\n\nerrors: No known data errors\n`)
      }

      for (const [report, failed, suffix] of [
        [large((i, side) => `sd${i}${side}`), 'sd2249b', ''],
        [large((i, side) => `/srv/disk${i}${side}`), '/srv/disk2249b', ' --allow-files'],
      ] as const) {
        expect([...walkVdevs(report.pools[0].vdevs)].filter((vdev) => vdev.children.length === 0).length).to.equal(4500)
        const health = judge(report)
        const advice = `lnstore replace-disk ${failed} <new-device>${suffix}`
        expect(nexts(health, failed)).to.deep.equal([advice])
        expect(health.pools[0].findings.map((finding) => finding.next)).to.include(advice)
      }
    })

    it('the disk an unfinished replace-disk run is replacing: continue the run, never `zpool online` it', () => {
      const report = pool('mirror-0', [['vdb', 'ONLINE'], ['vdc', 'OFFLINE']])
      const health = evaluateHealth({report, capacity: null, history: EMPTY_HISTORY, config, now: NOW, replacing: [{pool: 'tank', device: 'vdc', command: 'lnstore replace-disk --resume'}]})
      expect(deviceFindings(health, 'vdc').findings).to.deep.equal([
        {verdict: 'CRITICAL', message: 'an unfinished `lnstore replace-disk` run is replacing this device (it is OFFLINE)', next: 'lnstore replace-disk --resume'},
      ])
      expect(health.pools[0].findings.map((finding) => finding.next)).to.include('lnstore replace-disk --resume').and.not.include('zpool online tank vdc')
      // Without a run, a device an operator took offline is brought back.
      expect(judge(report).pools[0].findings.map((finding) => finding.next)).to.include('zpool online tank vdc')
    })
  })
})
