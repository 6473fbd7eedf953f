import {expect} from 'chai'

import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {labelclearOrder, retireOldDevice} from '../../src/replace/finish.js'
import {freshnessProblem, htlcRisk} from '../../src/replace/freshness.js'
import {findMember, onlyRepairedChecksumsOn, replaceSteps, type ReplaceContext} from '../../src/replace/plan.js'
import {systemDeps} from '../../src/system/deps.js'
import {parseStatus} from '../../src/zfs/status-json.js'
import {StubRunner} from '../support/stub-runner.js'

const reading = (dataVersion: number | null, check = 'ok') => ({path: '/data/bitcoin/lightningd.sqlite3', dataVersion, check})

describe('replace-disk: the data freshness guard', () => {
  it('lets the node start only on exactly the data_version it stopped with, and a passing quick_check', () => {
    expect(freshnessProblem(reading(120), reading(120))).to.equal(null)
    expect(freshnessProblem(reading(null), reading(null))).to.equal(null)
    expect(freshnessProblem(reading(120), reading(115))).to.match(/went backwards: data_version 115, but 120 when the node stopped/)
    expect(freshnessProblem(reading(120), reading(121))).to.match(/changed while the node was stopped/)
    expect(freshnessProblem(reading(120), reading(null))).to.match(/has no data_version/)
    expect(freshnessProblem(reading(120), reading(120, '*** in database main *** Page 4 is never used'))).to.match(/fails SQLite's quick_check/)
  })
})

describe('replace-disk: in-flight HTLCs', () => {
  const channels = [
    {short_channel_id: '1x1x0', htlcs: [{expiry: 1030}]},
    {short_channel_id: '2x1x0', htlcs: [{expiry: 1006}, {expiry: 1100}]},
    {short_channel_id: '3x1x0'},
  ]

  // Expected downtime 10 min: 1 block, plus the 18-block margin: refuse within 19 blocks, warn within 38.
  it('refuses when the nearest expiry is within the downtime plus 18 blocks, naming the channel and the blocks left', () => {
    expect(htlcRisk(channels, 1000, 600)).to.deep.equal({
      level: 'refuse',
      message:
        '3 HTLCs in flight; the nearest, on channel 2x1x0, expires at block 1006: 6 blocks left (block height 1000), within 19 blocks (the expected downtime, about 1 block or 10 min, plus a safety margin of 18): a node stopped now may not be back before it expires, and the peer would force-close the channel. Wait until it settles (lightning-cli listpeerchannels), or go ahead regardless with --ignore-htlcs',
    })
    expect(htlcRisk([{short_channel_id: '1x1x0', htlcs: [{expiry: 1019}]}], 1000, 600)?.level).to.equal('refuse')
  })

  it('warns within twice that, and the longer the downtime the wider both', () => {
    expect(htlcRisk([{short_channel_id: '1x1x0', htlcs: [{expiry: 1020}]}], 1000, 600)?.level).to.equal('warn')
    expect(htlcRisk([{short_channel_id: '1x1x0', htlcs: [{expiry: 1038}]}], 1000, 600)?.message).to.contain('within twice 19 blocks')
    expect(htlcRisk([{short_channel_id: '1x1x0', htlcs: [{expiry: 1039}]}], 1000, 600)).to.equal(null)
    // Two hours down: 12 blocks + 18.
    expect(htlcRisk([{short_channel_id: '1x1x0', htlcs: [{expiry: 1030}]}], 1000, 7200)?.level).to.equal('refuse')
  })

  it('stays quiet when there are no HTLCs', () => {
    expect(htlcRisk([{short_channel_id: '3x1x0'}], 1000, 10 ** 6)).to.equal(null)
  })
})

describe('replace-disk: finding the failing device', () => {
  const text = `  pool: tank
 state: ONLINE
config:

\tNAME        STATE     READ WRITE CKSUM
\ttank        ONLINE       0     0     0
\t  mirror-0  ONLINE       0     0     0
\t    sdb     ONLINE       0     0     0
\t    sdc     ONLINE       0     0     3

errors: No known data errors
`

  it('returns the leaf with its top-level vdev, or null', () => {
    const [pool] = parseStatus(text).pools
    const member = findMember(pool, 'sdc')
    expect(member?.leaf.cksum).to.equal(3)
    expect(member?.top.name).to.equal('mirror-0')
    expect(findMember(pool, 'sdz')).to.equal(null)
  })

  it('tells repaired checksum errors on the new disk (a resilver cut short) from anything else', () => {
    const pool = (edit: (text: string) => string = (same) => same) => parseStatus(edit(text)).pools[0]
    // sdc is the new disk: only its checksum errors, ZFS repaired them: scrub and look again.
    expect(onlyRepairedChecksumsOn(pool(), '/dev/sdc', 'sdd')).to.equal(true)
    // read errors on it, the other side erring too, data errors, a degraded pool, or the errors elsewhere: no.
    expect(onlyRepairedChecksumsOn(pool((t) => t.replace('sdc     ONLINE       0', 'sdc     ONLINE       2')), '/dev/sdc', 'sdd')).to.equal(false)
    expect(onlyRepairedChecksumsOn(pool((t) => t.replace('sdb     ONLINE       0     0     0', 'sdb     ONLINE       0     0     1')), '/dev/sdc', 'sdd')).to.equal(false)
    expect(onlyRepairedChecksumsOn(pool((t) => t.replace('errors: No known data errors', 'errors: 1 data errors, use \'-v\' for a list')), '/dev/sdc', 'sdd')).to.equal(false)
    expect(onlyRepairedChecksumsOn(pool((t) => t.replace(' state: ONLINE', ' state: DEGRADED')), '/dev/sdc', 'sdd')).to.equal(false)
    expect(onlyRepairedChecksumsOn(pool(), '/dev/sdb', 'sdd')).to.equal(false)
    // the failing disk's own errors (it is still listed while it detaches) do not count
    expect(onlyRepairedChecksumsOn(pool((t) => t.replace('sdb     ONLINE       0     0     0', 'sdb     ONLINE       0     0     1')), '/dev/sdc', 'sdb')).to.equal(true)
  })
})

describe('replace-disk: following the resilver', () => {
  const status = (scan: string, tree: string) => `  pool: tank\n state: ONLINE\n  scan: ${scan}\nconfig:\n\n\tNAME             STATE     READ WRITE CKSUM\n\ttank             ONLINE       0     0     0\n\t  mirror-0       ONLINE       0     0     0\n${tree}\nerrors: No known data errors\n`
  const replacing = '\t    replacing-0  ONLINE       0     0     0\n\t      vdb        OFFLINE      0     0     0\n\t      vdd        ONLINE       0     0     0\n\t    vdc          ONLINE       0     0     0\n'
  const done = '\t    vdd          ONLINE       0     0     0\n\t    vdc          ONLINE       0     0     0\n'
  const refused = {exitCode: 2, stderr: "invalid option 'j'"}

  it('waits while a replacing vdev still shows the last scrub, reports progress, and ends when the resilver is done', async () => {
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int', 'tank'], refused)
      .expect(['zpool', 'status', '-p', 'tank'], refused)
      .expect(['zpool', 'status', 'tank'], {stdout: status('scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:40:00 2026', replacing)})
      .expect(['zpool', 'status', '-g', 'tank'], refused)
      .expect(['zpool', 'status', 'tank'], {stdout: status('resilver in progress since Tue Nov 24 20:47:22 2026\n\t75M / 150M scanned, 75M / 150M issued\n\t75M resilvered, 50.00% done, no estimated completion time', replacing)})
      .expect(['zpool', 'status', 'tank'], {stdout: status('resilvered 150M in 00:00:05 with 0 errors on Tue Nov 24 20:47:27 2026', done)})
    const node = {kind: 'systemd', dataDir: '/srv/ln', network: 'bitcoin', unit: 'lightningd'} as const
    const context = {pool: 'tank', failing: 'vdb', newDevice: 'vdd', restart: 'after-resilver', sameSlot: false, node, freshness: {}} as unknown as ReplaceContext
    const step = replaceSteps({...systemDeps, runner}, context).find((candidate) => candidate.id === 'resilver')!
    const messages: string[] = []
    await step.run(context, (message) => messages.push(message), {firstStartedAt: Date.now()})
    runner.verify()
    expect(messages).to.deep.equal(['tank: waiting for the resilver to start', 'tank: resilver 50.0% done'])
    expect(context.resilverSeconds).to.be.a('number')
  })

  const node = {kind: 'systemd', dataDir: '/srv/ln', network: 'bitcoin', unit: 'lightningd'} as const
  const contextFor = () => ({pool: 'tank', failing: 'vdb', newDevice: 'vdd', restart: 'after-resilver', sameSlot: false, node, freshness: {}}) as unknown as ReplaceContext
  const stepOf = (runner: StubRunner, id: string) => replaceSteps({...systemDeps, runner}, contextFor()).find((candidate) => candidate.id === id)!
  const dialect = (runner: StubRunner, stdout: string) =>
    runner
      .expect(['zpool', 'status', '-j', '--json-int', 'tank'], refused)
      .expect(['zpool', 'status', '-p', 'tank'], refused)
      .expect(['zpool', 'status', 'tank'], {stdout})
      .expect(['zpool', 'status', '-g', 'tank'], refused)

  it('stops, saying the pool keeps its data, when the new disk faults during the resilver', async () => {
    const faulted = '\t    replacing-0  DEGRADED     0     0     0\n\t      vdb        OFFLINE      0     0     0\n\t      vdd        FAULTED      0    38     0  too many errors\n\t    vdc          ONLINE       0     0     0\n'
    const runner = dialect(new StubRunner(), status('resilver in progress since Tue Nov 24 20:47:22 2026\n\t75M / 150M scanned, 75M / 150M issued\n\t75M resilvered, 50.00% done, no estimated completion time', faulted))
    const error = await stepOf(runner, 'resilver').run(contextFor(), () => {}, {firstStartedAt: Date.now()}).catch((caught: Error) => caught)
    expect(error).to.be.instanceOf(Error).and.have.property('message', 'the new device vdd is FAULTED during the resilver; the pool keeps the data on its other devices. Replace it with another disk (zpool status -v tank)')
  })

  describe('verifying the pool after a resilver cut short', () => {
    // The new disk vdd with checksum errors ZFS repaired: clear them, scrub to the end, look again.
    const repairedOnNew = status('resilvered 150M in 00:00:05 with 0 errors on Tue Nov 24 20:47:27 2026', '\t    vdd          ONLINE       0     0     3\n\t    vdc          ONLINE       0     0     0\n')
    const after = (scan: string) => status(scan, done)
    const scrubbing = (...statuses: string[]) => {
      const runner = dialect(new StubRunner(), repairedOnNew).expect(['zpool', 'clear', 'tank', 'vdd'], {}).expect(['zpool', 'scrub', 'tank'], {})
      for (const stdout of statuses) runner.expect(['zpool', 'status', 'tank'], {stdout})
      return runner
    }
    // The scrub starts a second before the statuses below show it.
    const verifyPool = (runner: StubRunner) => replaceSteps({...systemDeps, runner, now: () => new Date(2026, 10, 24, 20, 48, 0).getTime()}, contextFor()).find((candidate) => candidate.id === 'verify-pool')!

    it('follows the scrub with its progress to its end, and then finds the pool whole', async () => {
      const runner = scrubbing(after('scrub in progress since Tue Nov 24 20:48:00 2026\n\t75M / 150M scanned, 75M / 150M issued\n\t0B repaired, 50.00% done, no estimated completion time'), after('scrub repaired 0B in 00:00:02 with 0 errors on Tue Nov 24 20:48:02 2026'))
      const messages: string[] = []
      await verifyPool(runner).run(contextFor(), (message) => messages.push(message), {firstStartedAt: Date.now()})
      runner.verify()
      expect(messages).to.deep.equal(['vdd has checksum errors that ZFS repaired (the resilver was interrupted): clearing them and scrubbing tank to prove every copy', 'tank: scrub 50.0% done', 'tank ONLINE, no errors'])
    })

    it('stops with --resume as the way on when the scrub is canceled before it ends', async () => {
      const runner = scrubbing(after('scrub canceled on Tue Nov 24 20:48:01 2026'))
      const error = await verifyPool(runner).run(contextFor(), () => {}, {firstStartedAt: Date.now()}).catch((caught: Error) => caught)
      runner.verify()
      expect(error).to.be.instanceOf(Error).and.have.property('message', 'the scrub of tank was canceled before it ended; run --resume to scrub again')
    })

    it('on --resume after that, scrubs again though the counters it cleared show nothing', async () => {
      // The step first began at 20:48:00 and cleared vdd's counters; its scrub was canceled a second later.
      const firstStartedAt = new Date(2026, 10, 24, 20, 48, 0).getTime()
      const runner = dialect(new StubRunner(), after('scrub canceled on Tue Nov 24 20:48:01 2026'))
        .expect(['zpool', 'scrub', 'tank'], {})
        .expect(['zpool', 'status', 'tank'], {stdout: after('scrub repaired 0B in 00:00:02 with 0 errors on Tue Nov 24 20:48:02 2026')})
      const messages: string[] = []
      await verifyPool(runner).run(contextFor(), (message) => messages.push(message), {firstStartedAt})
      runner.verify()
      expect(messages).to.deep.equal(['the scrub this step began on tank did not end (canceled): scrubbing to the end to prove every copy', 'tank ONLINE, no errors'])
    })

    it('on --resume while that scrub still runs, follows it instead of starting another', async () => {
      const firstStartedAt = new Date(2026, 10, 24, 20, 47, 59).getTime()
      const inProgress = after('scrub in progress since Tue Nov 24 20:48:00 2026\n\t75M / 150M scanned, 75M / 150M issued\n\t0B repaired, 50.00% done, no estimated completion time')
      const runner = dialect(new StubRunner(), inProgress)
        .expect(['zpool', 'status', 'tank'], {stdout: inProgress})
        .expect(['zpool', 'status', 'tank'], {stdout: after('scrub repaired 0B in 00:00:02 with 0 errors on Tue Nov 24 20:48:02 2026')})
      const messages: string[] = []
      await verifyPool(runner).run(contextFor(), (message) => messages.push(message), {firstStartedAt})
      runner.verify()
      expect(messages).to.deep.equal(['the scrub this step began on tank did not end (in_progress): scrubbing to the end to prove every copy', 'tank: scrub 50.0% done', 'tank ONLINE, no errors'])
    })

    it('a scrub cut short before the step began is not its own: nothing to prove again', async () => {
      const firstStartedAt = new Date(2026, 10, 24, 20, 50, 0).getTime()
      const runner = dialect(new StubRunner(), after('scrub canceled on Tue Nov 24 20:48:01 2026'))
      const messages: string[] = []
      await verifyPool(runner).run(contextFor(), (message) => messages.push(message), {firstStartedAt})
      runner.verify()
      expect(messages).to.deep.equal(['tank ONLINE, no errors'])
    })
  })

  it("shows ZFS's own message when zpool replace is refused", async () => {
    const runner = dialect(new StubRunner(), status('scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:40:00 2026', '\t    vdb          OFFLINE      0     0     0\n\t    vdc          ONLINE       0     0     0\n'))
      .expect(['zpool', 'replace', 'tank', 'vdb', 'vdd'], {exitCode: 1, stderr: 'cannot replace vdb with vdd: devices have different sector alignment\n'})
    const error = await stepOf(runner, 'replace').run(contextFor(), () => {}, {firstStartedAt: Date.now()}).catch((caught: Error) => caught)
    runner.verify()
    expect(error).to.be.instanceOf(Error).and.have.property('message').that.contains('cannot replace vdb with vdd: devices have different sector alignment')
  })
})

describe('replace-disk: clearing the old disk\'s labels', () => {
  it('tries a whole disk\'s partitions first, by number, and the disk itself last', () => {
    // Whole disk first failed on OpenZFS 2.1: udev re-read the disk's partition table and -part1 was briefly gone.
    const disk = '/dev/disk/by-id/virtio-lnstore-disk2'
    expect(labelclearOrder(disk, [`${disk}-part9`, `${disk}-part1`])).to.deep.equal([`${disk}-part1`, `${disk}-part9`, disk])
    expect(labelclearOrder('/dev/nvme0n1', ['/dev/nvme0n1p10', '/dev/nvme0n1p2'])).to.deep.equal(['/dev/nvme0n1p2', '/dev/nvme0n1p10', '/dev/nvme0n1'])
    expect(labelclearOrder('/dev/sdb1', [])).to.deep.equal(['/dev/sdb1'])
  })

  it('reports the device that was cleared, or the first failure with the advice to wipe it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lnstore-retire-'))
    try {
      const file = join(dir, 'old-disk')
      await writeFile(file, '')
      const yes = async () => true
      const cleared = new StubRunner().expect(['zpool', 'labelclear', '-f', file], {})
      expect(await retireOldDevice({...systemDeps, runner: cleared}, 'old-disk', file, yes)).to.deep.equal({path: file, labelsCleared: true})
      const refused = new StubRunner().expect(['zpool', 'labelclear', '-f', file], {exitCode: 255, stderr: `failed to clear label for ${file}\n`})
      const outcome = await retireOldDevice({...systemDeps, runner: refused}, 'old-disk', file, yes)
      expect(outcome.labelsCleared).to.equal(false)
      expect(outcome.warning).to.contain(`zpool labelclear failed (failed to clear label for ${file})`).and.contain('never import it or start a node on it')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
