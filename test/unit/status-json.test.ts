import {expect} from 'chai'

import {findMember} from '../../src/replace/plan.js'
import {parseJsonKeepingBigIntegers, parseStatus, parseStatusJson} from '../../src/zfs/status-json.js'
import {walkVdevs, type Pool} from '../../src/zfs/status-model.js'
import {StatusParseError} from '../../src/zfs/status-text.js'
import {fixture} from '../support/fixtures.js'

/** What text and JSON must agree on: the tree's names, roles, states and counters. */
const shape = (pool: Pool) => [...walkVdevs(pool.vdevs)].map(({name, role, state, read, write, cksum}) => ({name, role, state, read, write, cksum}))

describe('zpool status -j reader (OpenZFS 2.3)', () => {
  it('reads the same pool as the text output of the same state', () => {
    for (const [json, text] of [
      ['openzfs-2.3.2/006-mirror-healthy-j.json', 'openzfs-2.3.2/002-mirror-healthy.txt'],
      ['openzfs-2.3.2/020-resilver-replacing-j.json', 'openzfs-2.3.2/019-resilver-replacing.txt'],
    ]) {
      const fromJson = parseStatus(fixture(json)).pools[0]
      const fromText = parseStatus(fixture(text)).pools[0]
      expect(shape(fromJson), json).to.deep.equal(shape(fromText))
      expect(fromJson).to.include({name: fromText.name, state: fromText.state, read: 0, write: 0, cksum: 0, complete: true})
      expect(fromJson.scan.kind).to.equal(fromText.scan.kind)
      expect(fromJson.scan.state).to.equal(fromText.scan.state)
    }
  })

  it('carries GUIDs and device paths', () => {
    const pool = parseStatus(fixture('openzfs-2.3.2/006-mirror-healthy-j.json')).pools[0]
    expect(pool.guid).to.equal('6163926917756527699')
    const vdb = [...walkVdevs(pool.vdevs)].find((vdev) => vdev.name === 'vdb')
    expect(vdb).to.include({guid: '14401034150560727910', path: '/dev/vdb1'})
  })

  it('keeps 64-bit GUIDs exact in --json-int output (JSON numbers beyond 2^53)', () => {
    // Captured on OpenZFS 2.3.2: `zpool status -j --json-int` prints GUIDs as bare numbers.
    const pool = parseStatus(fixture('openzfs-2.3.2/108-mirror-healthy-j-int.json')).pools[0]
    expect(pool.guid).to.equal('4454611981931733180')
    const guids = [...walkVdevs(pool.vdevs)].map((vdev) => vdev.guid)
    expect(guids).to.deep.equal(['2322577751031217638', '13068301850137390104', '16190916351951319957'])
    // Counters and sizes stay numbers; a GUID-sized number inside a string or a fraction is left alone.
    expect(pool.read).to.equal(0)
    expect(parseJsonKeepingBigIntegers('{"a":"x 13068301850137390104","b":0.13068301850137390104,"c":-13068301850137390104,"d":9007199254740991}')).to.deep.equal({
      a: 'x 13068301850137390104',
      b: 0.13068301850137390104,
      c: '-13068301850137390104',
      d: 9007199254740991,
    })
  })

  it('finds a device by its exact 64-bit GUID (replace-disk <guid>), not by the rounded one', () => {
    const pool = parseStatus(fixture('openzfs-2.3.2/108-mirror-healthy-j-int.json')).pools[0]
    expect(findMember(pool, '13068301850137390104')?.leaf.name).to.equal('virtio-lnstore-disk1')
    expect(findMember(pool, String(Number('13068301850137390104')))).to.equal(null)
  })

  it('a special, dedup or log vdev in the root tree keeps its class (not read as a data disk)', () => {
    // The real 2.3.2 --json-int output of a mirror, with a special, a dedup and a log vdev added to
    // the root tree as `class` says (the VM capture of such a pool is h-vm's next fixture).
    const doc = parseJsonKeepingBigIntegers(fixture('openzfs-2.3.2/108-mirror-healthy-j-int.json')) as any
    const root = doc.pools.tank.vdevs.tank.vdevs
    const leaf = (name: string, cls: string) => ({name, vdev_type: 'disk', guid: '1', path: `/dev/${name}`, class: cls, state: 'ONLINE', read_errors: 0, write_errors: 0, checksum_errors: 0})
    root.sdx = leaf('sdx', 'special')
    root.sdy = leaf('sdy', 'dedup')
    root.sdz = leaf('sdz', 'log')
    const pool = parseStatusJson(doc).pools[0]
    expect(pool.vdevs.map((vdev) => [vdev.name, vdev.role])).to.deep.equal([
      ['mirror-0', 'data'],
      ['sdx', 'special'],
      ['sdy', 'dedup'],
      ['sdz', 'log'],
    ])
    // Listed in the root tree and in its section (the man page's layout): once, in its section.
    doc.pools.tank.special = {sdx: root.sdx}
    expect(parseStatusJson(doc).pools[0].vdevs.filter((vdev) => vdev.name === 'sdx').map((vdev) => vdev.role)).to.deep.equal(['special'])
  })

  it('reads scan_stats of a resilver in progress', () => {
    const pool = parseStatus(fixture('openzfs-2.3.2/020-resilver-replacing-j.json')).pools[0]
    expect(pool.scan).to.include({kind: 'resilver', state: 'in_progress', percent: 0, totalBytes: 150 * 1024 ** 2, errors: null})
    expect(pool.scan.startedAt).to.equal(Date.UTC(2026, 10, 24, 20, 47, 22))
  })

  it('maps HEALTHY to ONLINE and class vdevs to their roles (the man page example)', () => {
    const pool = parseStatus(fixture('public/openzfs-2.3-manpage-status-j-jq-vdev-columns.json')).pools[0]
    expect(pool.vdevs.map((vdev) => [vdev.name, vdev.role, vdev.state])).to.deep.equal([
      ['raidz1-0', 'data', 'ONLINE'],
      ['mirror-2', 'dedup', 'ONLINE'],
      ['25d418f8-92bd-4327-b59f-7ef5d5f50d81', 'special', 'ONLINE'],
    ])
    expect(pool.guid).to.equal('3920273586464696295')
  })

  it('reads --json-int output (numbers, epoch seconds) and rebuilds notes from aux codes', () => {
    const doc = {
      pools: {
        tank: {
          name: 'tank',
          state: 'DEGRADED',
          scan_stats: {function: 'SCRUB', state: 'FINISHED', start_time: 1_795_553_000, end_time: 1_795_553_061, to_examine: 1000, examined: 1000, issued: 1000, processed: 9216, errors: 0, scrub_pause: 0},
          vdevs: {
            tank: {
              name: 'tank', vdev_type: 'root', state: 'DEGRADED', read_errors: 0, write_errors: 0, checksum_errors: 0,
              vdevs: {
                'mirror-0': {
                  name: 'mirror-0', vdev_type: 'mirror', state: 'DEGRADED', read_errors: 0, write_errors: 0, checksum_errors: 0,
                  vdevs: {
                    vdb: {name: 'vdb', vdev_type: 'disk', guid: 123, state: 'FAULTED', aux: 'ERR_EXCEEDED', read_errors: 0, write_errors: 0, checksum_errors: 1500},
                    '999': {name: '999', vdev_type: 'disk', state: 'CANT_OPEN', not_present: 1, was: '/dev/vdc1', read_errors: 0, write_errors: 0, checksum_errors: 0},
                  },
                },
              },
            },
          },
          spares: {vdd: {name: 'vdd', vdev_type: 'disk', state: 'AVAIL'}},
          error_count: 0,
        },
      },
    }
    const pool = parseStatus(JSON.stringify(doc)).pools[0]
    expect(pool.scan).to.include({kind: 'scrub', state: 'finished', durationSeconds: 61, repairedBytes: 9216, errors: 0})
    const devices = [...walkVdevs(pool.vdevs)]
    expect(devices.find((vdev) => vdev.name === 'vdb')).to.include({state: 'FAULTED', cksum: 1500, guid: '123'})
    expect(devices.find((vdev) => vdev.name === 'vdb')?.notes).to.deep.equal(['too many errors'])
    expect(devices.find((vdev) => vdev.name === '999')).to.deep.include({state: 'UNAVAIL', notes: ['was /dev/vdc1']})
    expect(devices.find((vdev) => vdev.name === 'vdd')).to.include({role: 'spare', state: 'AVAIL', read: null})
    expect(pool.exactCounts).to.equal(true)
  })

  it('rejects JSON that is not zpool status output', () => {
    expect(() => parseStatus('{"hello": 1}')).to.throw(StatusParseError, /no "pools" object/)
    expect(() => parseStatus('{"pools": ')).to.throw(StatusParseError, /not valid/)
  })
})
