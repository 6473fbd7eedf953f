import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {chooseAuthoritative, type ReplicaState} from '../../src/chironfs/authority.js'
import {controlEntryFor, parseChironctl, parseStatusFile} from '../../src/chironfs/control.js'
import {checkDivergence, confirmDifferences, confirmedLag, type Difference, type Look} from '../../src/chironfs/divergence.js'
import {parseChironLog} from '../../src/chironfs/log.js'
import {mountCommand, unmountCommand} from '../../src/chironfs/mount.js'
import {assessNfsMount, exportOptionsFor, softTimeoutSeconds} from '../../src/chironfs/nfs.js'
import {overlapsOnDisk} from '../../src/chironfs/replica-paths.js'
import {formatReplica, parseReplica} from '../../src/chironfs/replicas.js'
import {mountOf, parseProcMounts} from '../../src/storage/mounts.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/chironfs/', import.meta.url))
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8')
const R1 = '/srv/lnstore/r1'
const R2 = '/srv/lnstore/r2'

describe('chironfs: the mount command line', () => {
  it('marks the slow replica with a colon and mounts with its log and control socket', () => {
    const replicas = ['/data/r1', ':/mnt/nfs/r2'].map(parseReplica)
    expect(replicas[1]).to.deep.equal({path: '/mnt/nfs/r2', slow: true})
    expect(mountCommand({binary: 'chironfs', replicas, mountpoint: '/home/bitcoin/.lightning', controlSocket: '/run/lnstore/chironfs.sock', log: '/var/log/lnstore/chironfs.log'})).to.deep.equal([
      'chironfs', '--ctl', '/run/lnstore/chironfs.sock', '--log', '/var/log/lnstore/chironfs.log', '-o', 'allow_other', '-s', '/data/r1=:/mnt/nfs/r2', '/home/bitcoin/.lightning',
    ])
    expect(replicas.map(formatReplica)).to.deep.equal(['/data/r1', ':/mnt/nfs/r2'])
    expect(unmountCommand('/home/bitcoin/.lightning')).to.deep.equal(['fusermount', '-u', '/home/bitcoin/.lightning'])
  })
})

describe('chironfs: its view of the replicas', () => {
  it('reads chironctl (1.1.1) with one replica disabled', () => {
    const entries = parseChironctl(fixture('chironctl-1.1.1-one-disabled.txt'))
    expect(entries).to.deep.equal([
      {index: 0, name: R1, enabled: true, priority: 'high', reads: 0, writes: 2},
      {index: 1, name: R2, enabled: false, priority: 'low', reads: 0, writes: 1},
    ])
  })

  it('reads chironctl (1.1.1) when all is well', () => {
    expect(parseChironctl(fixture('chironctl-1.1.1-healthy.txt')).map((entry) => entry.enabled)).to.deep.equal([true, true])
  })

  it('reads the 1.1 control filesystem status files (0 good, 2 disabled) and matches them by position', () => {
    const entries = ['0', '1'].map((name) => parseStatusFile(name, fixture(`control-1.1/${name}/status`))!)
    expect(entries.map((entry) => entry.enabled)).to.deep.equal([true, false])
    expect(controlEntryFor(entries, '/mnt/nfs/r2', 1)?.enabled).to.equal(false)
    expect(parseStatusFile('x', 'garbage')).to.equal(null)
  })

  it('matches control entries by path first, also when the directory is named after the path', () => {
    expect(controlEntryFor([{index: null, name: 'srv_lnstore_r2', enabled: false}], R2, 0)?.enabled).to.equal(false)
    expect(controlEntryFor(parseChironctl(fixture('chironctl-1.1.1-one-disabled.txt')), R2, 0)?.name).to.equal(R2)
  })
})

describe('chironfs: its log', () => {
  const log = fixture('chironfs-1.1.1-replica-disabled.log')

  it('finds the failed write and the disabled replica, and no failure in the priority lines', () => {
    const reading = parseChironLog(log, [R1, R2])
    expect(reading.mountSeen).to.equal(true)
    expect(reading.disabled).to.deep.equal([R2])
    expect(reading.failures).to.have.length(1)
    expect(reading.failures[0]).to.deep.include({operation: 'create', replica: R2, error: 'Low memory'})
  })

  it('a lookup of a missing file (a lone priority line) is not a failure and not a new mount', () => {
    const reading = parseChironLog(`${log}2026/11/26 00:30 Replica priority high failed accessing ${R1}\n`, [R1, R2])
    expect(reading.disabled).to.deep.equal([R2])
    expect(reading.failures).to.have.length(1)
  })

  it('forgets failures from before the last mount (heal remounts with every replica)', () => {
    const remount = `2026/11/26 01:00 Replica priority high failed accessing ${R1}\n2026/11/26 01:00 Replica priority low failed accessing ${R2}\n`
    const reading = parseChironLog(log + remount, [R1, R2])
    expect(reading).to.deep.equal({failures: [], disabled: [], mountSeen: true})
  })

  it('keeps replica paths with spaces whole', () => {
    const reading = parseChironLog('2026/11/26 00:26 write failed accessing /mnt/my nas/r2 Input/output error\n', ['/mnt/my nas/r2'])
    expect(reading.failures[0]).to.deep.equal({at: '2026/11/26 00:26', operation: 'write', replica: '/mnt/my nas/r2', error: 'Input/output error'})
  })
})

describe('chironfs: NFS mount options', () => {
  const mounts = parseProcMounts(fixture('proc-mounts.txt'))
  const etab = fixture('etab.txt')

  it('finds the mount a replica lives on', () => {
    expect(mountOf('/mnt/nfs/lnstore', mounts)?.source).to.equal('127.0.0.1:/export')
    expect(mountOf('/mnt/ssd/lnstore', mounts)?.fsType).to.equal('ext4')
    expect(mountOf('/var/lib', mounts)?.mountPoint).to.equal('/')
  })

  it('accepts a soft, sync mount with bounded retries from a sync export', () => {
    const mount = mountOf('/mnt/nfs/r2', mounts)!
    expect(softTimeoutSeconds(mount)).to.equal(12)
    expect(assessNfsMount('/mnt/nfs/r2', mount, exportOptionsFor(etab, '/export'))).to.deep.equal([])
  })

  it('warns about a hard mount (the node would hang) and an async one (acknowledged writes not on the server), with the fix', () => {
    const findings = assessNfsMount('/mnt/nas/r2', mountOf('/mnt/nas/r2', mounts)!)
    expect(findings.map((finding) => finding.verdict)).to.deep.equal(['WARNING', 'WARNING'])
    expect(findings[0].message).to.match(/hard NFS mount.*hang/)
    expect(findings[0].next).to.match(/soft,timeo=50,retrans=2/)
    expect(findings[1].message).to.match(/async.*no fsync/)
    expect(findings[1].next).to.match(/sync/)
  })

  it('warns about a soft mount that retries for minutes', () => {
    const findings = assessNfsMount('/mnt/nas-slow/r2', mountOf('/mnt/nas-slow/r2', mounts)!)
    expect(findings[0].message).to.match(/retries for about 360 s/)
  })

  it('warns about an async export on the server', () => {
    const findings = assessNfsMount('/mnt/nfs/r2', mountOf('/mnt/nfs/r2', mounts)!, exportOptionsFor(etab, '/export-fast'))
    expect(findings).to.have.length(1)
    expect(findings[0].next).to.match(/exportfs -ra/)
  })

  it('says nothing about a local filesystem', () => {
    expect(assessNfsMount('/mnt/ssd/r1', mountOf('/mnt/ssd/r1', mounts)!)).to.deep.equal([])
  })
})

describe('chironfs: divergence confirmed by a second look', () => {
  const look = (versions: Record<string, number | null>, differences: Difference[] = []): Look => ({
    databasePath: 'bitcoin/lightningd.sqlite3',
    differences,
    replicas: Object.entries(versions).map(([replica, dataVersion]) => ({replica, entries: [], database: {path: `${replica}/db`, dataVersion, check: 'not run'}, databaseStable: true})),
  })
  const missing: Difference = {path: 'config', kind: 'missing', groups: [['/a'], ['/b']], detail: 'config exists only in /a'}

  it('keeps a difference only when both looks saw it between the same replicas', () => {
    expect(confirmDifferences(look({}, [missing]), look({}, [missing]))).to.deep.equal([missing])
    expect(confirmDifferences(look({}, [missing]), look({}))).to.deep.equal([])
    expect(confirmDifferences(look({}, [missing]), look({}, [{...missing, groups: [['/a', '/b'], ['/c']]}]))).to.deep.equal([])
  })

  it('a data_version lag that closes is not divergence; one that stays is', () => {
    // A node that writes: /b is one write behind at each look, but past where /a was at the first.
    expect(confirmedLag(look({'/a': 10, '/b': 9}), look({'/a': 14, '/b': 13}))).to.deep.equal([])
    expect(confirmedLag(look({'/a': 10, '/b': 9}), look({'/a': 14, '/b': 14}))).to.deep.equal([])
    // A disabled replica stays where it stopped.
    expect(confirmedLag(look({'/a': 10, '/b': 7}), look({'/a': 14, '/b': 7}))).to.deep.equal(['/b'])
    // A copy without the database is behind.
    expect(confirmedLag(look({'/a': 10, '/b': null}), look({'/a': 10, '/b': null}))).to.deep.equal(['/b'])
    // The copy being written read without a data_version at the first look (torn under load): a replica
    // ChironFS disabled that is behind at the second is behind all the same; one that gets writes is not judged yet.
    expect(confirmedLag(look({'/a': null, '/b': 7}), look({'/a': 14, '/b': 7}), new Set(['/b']))).to.deep.equal(['/b'])
    expect(confirmedLag(look({'/a': null, '/b': 7}), look({'/a': 14, '/b': 7}))).to.deep.equal([])
  })
})

describe('chironfs: the authoritative replica', () => {
  const state = (replica: string, dataVersion: number | null, check = 'ok', extra: Partial<ReplicaState> = {}): ReplicaState => ({
    replica, reachable: true, database: {path: `${replica}/db`, dataVersion, check}, disabledByChironfs: false, ...extra,
  })
  const differs = (groups: string[][]): Difference => ({path: 'bitcoin/lightningd.sqlite3', kind: 'content', groups, detail: 'bitcoin/lightningd.sqlite3 has the same size but different content'})

  it('is the replica with the highest data_version; the others are stale', () => {
    const authority = chooseAuthoritative([state('/a', 10), state('/b', 7)], [])
    expect(authority).to.deep.include({authoritative: '/a', problem: null})
    expect(authority.stale.map((entry) => entry.replica)).to.deep.equal(['/b'])
    expect(authority.stale[0].reason).to.match(/behind \(data_version 7, the newest is 10\)/)
  })

  it('may be the slow (NFS) replica when it is ahead', () => {
    expect(chooseAuthoritative([state('/a', 7), state('/nfs', 12)], []).authoritative).to.equal('/nfs')
  })

  it('never is a copy that fails the integrity check, even the highest', () => {
    const authority = chooseAuthoritative([state('/a', 10, '*** in database main *** Page 3: btreeInitPage() returns error code 11'), state('/b', 10), state('/c', 9)], [])
    expect(authority.authoritative).to.equal('/b')
    expect(authority.stale.map((entry) => entry.replica)).to.deep.equal(['/a', '/c'])
  })

  it('refuses when the newest copy is damaged and every intact one is older', () => {
    const authority = chooseAuthoritative([state('/a', 12, 'unreadable: file is not a database'), state('/b', 9)], [])
    expect(authority.authoritative).to.equal(null)
    expect(authority.problem).to.match(/newest copy .* fails its integrity check.*roll the node back/)
  })

  it('refuses when no copy is intact', () => {
    expect(chooseAuthoritative([state('/a', 5, 'bad'), state('/b', 5, 'bad')], []).problem).to.match(/no reachable replica holds an intact copy/)
  })

  it('refuses to guess between equal data_versions with different content', () => {
    const authority = chooseAuthoritative([state('/a', 10), state('/b', 10)], [differs([['/a'], ['/b']])])
    expect(authority.authoritative).to.equal(null)
    expect(authority.problem).to.match(/same data_version \(10\) but different content.*will not guess/)
  })

  it('takes ChironFS\'s word when it disabled one of them after a failed write', () => {
    const authority = chooseAuthoritative([state('/a', 10), state('/b', 10, 'ok', {disabledByChironfs: true})], [differs([['/a'], ['/b']])])
    expect(authority.authoritative).to.equal('/a')
    expect(authority.stale[0]).to.deep.include({replica: '/b'})
  })

  it('refuses when every intact copy is older than what lnstore saw the node write (its high-water mark)', () => {
    const authority = chooseAuthoritative([state('/a', 10), state('/b', 7)], [], 12)
    expect(authority.authoritative).to.equal(null)
    expect(authority.problem).to.match(/older \(data_version 10\) than what lnstore has seen the node write \(data_version 12\)/)
  })

  it('a damaged copy whose data_version cannot be read: refused without a high-water mark, healed from an intact copy that reaches it', () => {
    const states = [state('/a', 10), state('/b', null, 'unreadable: database disk image is malformed')]
    expect(chooseAuthoritative(states, []).problem).to.match(/cannot prove that the intact copy \(data_version 10\) is not older/)
    expect(chooseAuthoritative(states, [], 10)).to.deep.include({authoritative: '/a', problem: null})
  })

  it('does not count an unreachable replica as a source', () => {
    const authority = chooseAuthoritative([state('/a', 3), state('/b', 10, 'ok', {reachable: false})], [])
    expect(authority.authoritative).to.equal('/a')
    expect(authority.stale[0]).to.deep.include({replica: '/b', reason: 'unreachable: it cannot be compared'})
  })
})

describe('chironfs: looking again within the settle window (real directories)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-settle-'))
  const [a, b] = ['a', 'b'].map((name) => join(dir, name))
  for (const replica of [a, b]) mkdirSync(replica)
  after(() => rmSync(dir, {recursive: true, force: true}))
  let now = 0
  const waits: number[] = []
  const options = (extra: object = {}) => ({full: false, integrity: false, settleMs: 3000, clock: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)), ...extra})
  beforeEach(() => {
    now = 0
    waits.length = 0
    rmSync(join(a, 'only-here'), {force: true})
  })

  it('waits for nothing when the replicas agree', async () => {
    expect(await checkDivergence([a, b], options())).to.deep.include({differences: [], looks: 1})
    expect(waits).to.deep.equal([])
  })

  it('a difference that stays: looked at again after 50 ms, doubling, until the window is over, then confirmed', async () => {
    writeFileSync(join(a, 'only-here'), 'x')
    const result = await checkDivergence([a, b], options())
    expect(result.differences.map((difference) => difference.detail)).to.deep.equal([`only-here exists only in ${a}`])
    expect(waits).to.deep.equal([50, 100, 200, 400, 800, 1450])
  })

  it('one that is gone at the next look ends the check at once', async () => {
    writeFileSync(join(a, 'only-here'), 'x')
    const result = await checkDivergence([a, b], options({sleep: async (ms: number) => void (waits.push(ms), rmSync(join(a, 'only-here')))}))
    expect(result).to.deep.include({differences: [], looks: 2})
    expect(waits).to.deep.equal([50])
  })

  it('what only a replica ChironFS disabled accounts for is confirmed without waiting (it gets no writes)', async () => {
    writeFileSync(join(a, 'only-here'), 'x')
    expect((await checkDivergence([a, b], options({frozen: [b]}))).looks).to.equal(1)
    expect(waits).to.deep.equal([])
  })
})

describe('chironfs: replicas that are one directory, by device and inode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-overlap-'))
  const r1 = join(dir, 'r1')
  mkdirSync(join(r1, 'inner'), {recursive: true})
  mkdirSync(join(dir, 'r2'))
  symlinkSync(r1, join(dir, 'link'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('finds the same directory written differently or through a symlink, and nesting, also of a path not there yet', async () => {
    expect(await overlapsOnDisk([r1, `${dir}/./r1/`])).to.deep.equal([{first: r1, second: `${dir}/./r1/`, kind: 'same'}])
    expect(await overlapsOnDisk([join(dir, 'link'), r1])).to.deep.equal([{first: join(dir, 'link'), second: r1, kind: 'same'}])
    expect(await overlapsOnDisk([join(dir, 'link', 'inner'), r1])).to.deep.equal([{first: r1, second: join(dir, 'link', 'inner'), kind: 'inside'}])
    expect(await overlapsOnDisk([join(dir, 'link', 'new'), join(r1, 'new')])).to.deep.equal([{first: join(dir, 'link', 'new'), second: join(r1, 'new'), kind: 'same'}])
    expect(await overlapsOnDisk([r1, join(dir, 'r2')])).to.deep.equal([])
  })
})
