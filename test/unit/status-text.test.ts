import {expect} from 'chai'

import {parseStatus} from '../../src/zfs/status-json.js'
import {walkVdevs, type Pool, type Vdev} from '../../src/zfs/status-model.js'
import {StatusParseError, parseStatusText} from '../../src/zfs/status-text.js'
import {allFixtures, fixture} from '../support/fixtures.js'

const onlyPool = (text: string): Pool => {
  const report = parseStatusText(text)
  expect(report.pools).to.have.length(1)
  return report.pools[0]
}

const find = (pool: Pool, name: string): Vdev => {
  const vdev = [...walkVdevs(pool.vdevs)].find((candidate) => candidate.name === name)
  if (!vdev) throw new Error(`no vdev ${name} in ${pool.name}`)
  return vdev
}

describe('zpool status text reader', () => {
  it('reads every fixture, each of which names its source', () => {
    const fixtures = allFixtures()
    expect(fixtures.length).to.be.greaterThan(60)
    for (const {path, source} of fixtures) {
      expect(source, `${path} has no entry in its folder's sources.json`).to.be.an('object')
      // The VM tier also saves `zpool list` and `zpool get` outputs beside the status ones.
      const command = (source as {command?: string}).command ?? 'zpool status'
      if (!/^zpool (status|import)/.test(command)) continue
      const report = parseStatus(fixture(path))
      for (const pool of report.pools) expect(pool.name, path).to.match(/\S/)
    }
  })

  describe('OpenZFS 2.1 / 2.3 (captured in the VM tier)', () => {
    for (const version of ['openzfs-2.1.11', 'openzfs-2.3.2']) {
      it(`${version}: a healthy mirror`, () => {
        const pool = onlyPool(fixture(`${version}/002-mirror-healthy.txt`))
        expect(pool).to.include({name: 'tank', state: 'ONLINE', read: 0, write: 0, cksum: 0, complete: true, exactCounts: true})
        expect(pool.scan.kind).to.equal(null)
        expect(pool.errors).to.deep.equal({count: 0, files: [], raw: 'No known data errors'})
        expect(pool.vdevs.map((vdev) => [vdev.name, vdev.role, vdev.children.map((child) => child.name)])).to.deep.equal([['mirror-0', 'data', ['vdb', 'vdc']]])
        expect(pool.warnings).to.deep.equal([])
      })

      it(`${version}: a scrub that repaired checksum errors`, () => {
        const pool = onlyPool(fixture(`${version}/013-scrub-repaired-cksum.txt`))
        expect(pool.scan).to.include({kind: 'scrub', state: 'finished', errors: 0, durationSeconds: 1, percent: 100})
        expect(pool.scan.endedAt).to.be.a('number')
        expect(find(pool, 'vdb').cksum).to.be.greaterThan(0)
        expect(pool.status).to.match(/unrecoverable error\.\s+An\nattempt was made/)
        expect(pool.see).to.equal('https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-9P')
      })

      it(`${version}: a degraded mirror with an offline device`, () => {
        const pool = onlyPool(fixture(`${version}/017-degraded-offline.txt`))
        expect(pool.state).to.equal('DEGRADED')
        expect(find(pool, 'vdc').state).to.equal('OFFLINE')
        expect(find(pool, 'mirror-0').state).to.equal('DEGRADED')
      })

      it(`${version}: a resilver in progress under replacing-0`, () => {
        const pool = onlyPool(fixture(`${version}/019-resilver-replacing.txt`))
        expect(pool.scan).to.include({kind: 'resilver', state: 'in_progress', percent: 0, totalBytes: 150 * 1024 ** 2})
        expect(find(pool, 'replacing-0').children.map((child) => child.name)).to.deep.equal(['vdb', 'vdd'])
      })
    }

    it('2.3 prints the progress as "X / Y scanned, Z / Y issued"', () => {
      const pool = onlyPool(fixture('openzfs-2.3.2/019-resilver-replacing.txt'))
      expect(pool.scan).to.include({scannedBytes: 0, issuedBytes: 0, totalBytes: 150 * 1024 ** 2, repairedBytes: 0})
    })
  })

  describe('zfs-fuse and Solaris', () => {
    it('reads the `scrub:` line and per-device "repaired" notes', () => {
      const pool = onlyPool(fixture('zfs-fuse-0.7.0/degraded-offline.txt'))
      expect(pool.scan).to.include({kind: 'scrub', state: 'finished', errors: 0, durationSeconds: 0})
      const damaged = find(pool, '/tmp/zf2/a')
      expect(damaged).to.include({cksum: 456, path: '/tmp/zf2/a'})
      expect(damaged.notes).to.deep.equal(['35.1M repaired'])
      expect(find(pool, '/tmp/zf2/b').state).to.equal('OFFLINE')
    })

    it('reads "scrub: none requested"', () => {
      expect(onlyPool(fixture('zfs-fuse-0.7.0/mirror-healthy.txt')).scan).to.include({kind: null, state: null, raw: 'none requested'})
    })

    it('reads unindented permanent-error file lists and "cannot open"', () => {
      const pool = onlyPool(fixture('public/solaris-unavail-io-failures-permanent-errors.txt'))
      expect(pool.errors?.files).to.deep.equal(['/tank/data/aaa', '/tank/data/bbb', '/tank/data/ccc'])
      expect(pool.errors?.count).to.equal(3)
      expect(find(pool, 'c1t1d0')).to.include({state: 'UNAVAIL', read: 4, write: 1})
      expect(find(pool, 'c1t1d0').notes).to.deep.equal(['cannot open'])
    })

    it('treats a `logs` row with counters (Solaris) as the section header', () => {
      const pool = onlyPool(fixture('public/docs-example-faulted-bad-intent-log-logs-row.txt'))
      expect(pool.vdevs.map((vdev) => [vdev.name, vdev.role])).to.deep.equal([
        ['c3t2d0', 'data'],
        ['c5t3d0', 'log'],
      ])
    })
  })

  describe('OpenZFS 0.6 - 2.2 and FreeBSD from public reports', () => {
    it('0.7: scrub in progress, "scanned out of ... at ..., ... to go"', () => {
      const pool = onlyPool(fixture('public/freebsd-legacy-handbook-scrub-repairing.txt'))
      expect(pool.scan).to.include({kind: 'scrub', state: 'in_progress', percent: 15.56, secondsToGo: 180})
      expect(pool.scan.scannedBytes).to.equal(Math.round(10.4 * 1024 ** 2))
      expect(pool.scan.bytesPerSecond).to.equal(267 * 1024)
      expect(find(pool, 'ada1').notes).to.deep.equal(['(repairing)'])
    })

    it('0.8: "scanned at, issued at, total" and "no estimated completion time"', () => {
      const pool = onlyPool(fixture('public/openzfs-0.8-scrub-no-estimated-completion.txt'))
      expect(pool.scan).to.include({kind: 'scrub', state: 'in_progress', totalBytes: 212 * 1024 ** 3})
      expect(pool.scan.secondsToGo).to.equal(undefined)
    })

    it('a canceled scrub', () => {
      expect(onlyPool(fixture('public/openzfs-0.8-dev-scrub-canceled.txt')).scan).to.include({kind: 'scrub', state: 'canceled'})
    })

    it('abbreviated counters make the pool\'s counts approximate', () => {
      const pool = onlyPool(fixture('public/freebsd-legacy-handbook-scrub-repaired-cksum-2.72K.txt'))
      expect(find(pool, 'ada1').cksum).to.equal(Math.round(2.72 * 1024))
      expect(pool.exactCounts).to.equal(false)
    })

    it('spares AVAIL and INUSE, spare-N, and a completed removal', () => {
      const pool = onlyPool(fixture('public/openzfs-0.8-spare-inuse-remove-completed.txt'))
      const spares = pool.vdevs.filter((vdev) => vdev.role === 'spare')
      expect(spares.map((spare) => spare.state)).to.include('INUSE')
      expect(spares.every((spare) => spare.read === null && spare.cksum === null)).to.equal(true)
      expect([...walkVdevs(pool.vdevs)].some((vdev) => /^spare-\d+$/.test(vdev.name))).to.equal(true)
      expect(pool.remove).to.match(/Removal of vdev/)
    })

    it('dRAID with distributed spares and a sequential resilver', () => {
      const pool = onlyPool(fixture('public/openzfs-2.0-draid-sequential-resilver-spare-inuse.txt'))
      expect(pool.vdevs[0].name).to.match(/^draid1:/)
      expect(pool.scan).to.include({kind: 'resilver', state: 'in_progress'})
      expect(pool.vdevs.some((vdev) => vdev.role === 'spare' && vdev.state === 'INUSE')).to.equal(true)
    })

    it('logs, cache and special sections', () => {
      const logs = onlyPool(fixture('public/zfsonlinux-0.6-resilver-logs-mirror-cache.txt'))
      expect(logs.vdevs.map((vdev) => vdev.role)).to.include.members(['data', 'log', 'cache'])
      const special = onlyPool(fixture('public/openzfs-0.8-special-section-trailing-tab.txt'))
      expect(special.vdevs.some((vdev) => vdev.role === 'special')).to.equal(true)
    })

    it('missing devices named by GUID with "was /dev/..."', () => {
      const pool = onlyPool(fixture('public/freebsd-raidz1-guid-unavail-was-dev-gpt.txt'))
      const missing = [...walkVdevs(pool.vdevs)].find((vdev) => /^\d{6,}$/.test(vdev.name))
      expect(missing?.state).to.equal('UNAVAIL')
      expect(missing?.notes.join(' ')).to.match(/^was \/dev\/gpt\//)
    })

    it('"N data errors, use \'-v\' for a list"', () => {
      expect(onlyPool(fixture('public/zfsonlinux-0.6-io-failures-data-errors.txt')).errors?.count).to.equal(1)
    })

    it('several pools in one output, also without blank lines between them', () => {
      const report = parseStatusText(fixture('public/openzfs-macos-three-pools-no-blank-lines.txt'))
      expect(report.pools.map((pool) => pool.name)).to.deep.equal(['zhgstera6', 'zint500', 'zsam53'])
      expect(report.pools.every((pool) => pool.complete)).to.equal(true)
    })

    it('`zpool import` listings carry an id and no counters', () => {
      const pool = onlyPool(fixture('public/freebsd-legacy-handbook-zpool-import-id.txt'))
      expect(pool.id).to.match(/^\d+$/)
      expect(pool.complete).to.equal(true)
    })

    it('"(trim unsupported)" and "(100% trimmed, completed at ...)" notes', () => {
      const pool = onlyPool(fixture('public/openzfs-0.8-dev-status-t-trimmed-unsupported-logs.txt'))
      expect(find(pool, 'vdd').notes).to.deep.equal(['(trim unsupported)'])
      expect(find(pool, '/var/tmp/log').notes[0]).to.match(/^\(100% trimmed, completed at/)
    })
  })

  describe('whole-output messages', () => {
    it('"no pools available"', () => {
      expect(parseStatusText(fixture('public/zfsonlinux-0.6-no-pools-available.txt'))).to.deep.equal({pools: [], allHealthy: false, dialect: 'text'})
    })

    it('`-x`: "all pools are healthy" and "pool \'x\' is healthy"', () => {
      expect(parseStatusText(fixture('public/openzfs-docs-status-x-all-pools-healthy.txt')).allHealthy).to.equal(true)
      expect(parseStatusText("pool 'tank' is healthy\n").allHealthy).to.equal(true)
    })
  })

  describe('bad input', () => {
    it('keeps lines it does not understand as warnings', () => {
      const text = fixture('openzfs-2.3.2/002-mirror-healthy.txt').replace(' state: ONLINE\n', ' state: ONLINE\nfrobnicate the pool\n')
      const pool = onlyPool(text)
      expect(pool.state).to.equal('ONLINE')
      expect(pool.warnings).to.deep.equal(['line 3: not understood: frobnicate the pool'])
    })

    it('marks a truncated output incomplete', () => {
      const text = fixture('openzfs-2.3.2/002-mirror-healthy.txt')
      const pool = onlyPool(text.slice(0, text.indexOf('vdc')))
      expect(pool.complete).to.equal(false)
      expect(pool.warnings.at(-1)).to.match(/truncated/)
    })

    it('names the line it could not read in garbage', () => {
      expect(() => parseStatusText('\nhello world\nsecond line\n')).to.throw(StatusParseError, 'line 2 is not zpool status output: "hello world"')
    })

    it('refuses binary data and empty input', () => {
      expect(() => parseStatusText('\u0000\u0001ELF\u0002')).to.throw(StatusParseError, /binary data/)
      expect(() => parseStatusText('  \n\n')).to.throw(StatusParseError, /empty/)
    })

    it('reads a pool of a thousand devices', () => {
      const rows = Array.from({length: 500}, (_, i) => `\t  mirror-${i}  ONLINE       0     0     0\n\t    sd${i}a    ONLINE       0     0     0\n\t    sd${i}b    ONLINE       0     0     1`)
      const text = `  pool: big\n state: ONLINE\nconfig:\n\n\tNAME STATE READ WRITE CKSUM\n\tbig ONLINE 0 0 0\n${rows.join('\n')}\n\nerrors: No known data errors\n`
      const pool = onlyPool(text)
      expect([...walkVdevs(pool.vdevs)]).to.have.length(1500)
      expect(find(pool, 'sd499b').cksum).to.equal(1)
    })
  })
})
