import {expect} from 'chai'

import {appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {fileDialectCache, type DialectCache, type ZpoolDialect} from '../../src/zfs/dialect-cache.js'
import {classifyFailure, parseCapacityList, Zpool, ZpoolError} from '../../src/zfs/zpool.js'
import {walkVdevs} from '../../src/zfs/status-model.js'
import {fixture} from '../support/fixtures.js'
import {StubRunner} from '../support/stub-runner.js'

const failed = (stderr: string, exitCode: number | null = 1) => ({argv: ['zpool', 'status'], exitCode, stdout: '', stderr})
const usage = (option: string) => ({exitCode: 2, stderr: `invalid option '${option}'\nusage:\n\tstatus [-vx] [pool] ...\n`})

describe('zpool', () => {
  it('uses JSON where zpool has it, once detected', async () => {
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int'], {stdout: fixture('openzfs-2.3.2/006-mirror-healthy-j.json')})
      .expect(['zpool', 'status', '-j', '--json-int', 'tank'], {stdout: fixture('openzfs-2.3.2/006-mirror-healthy-j.json')})
    const zpool = new Zpool(runner)
    expect((await zpool.status()).dialect).to.equal('json')
    expect((await zpool.status(['tank'])).dialect).to.equal('json')
    runner.verify()
  })

  it('falls back to -p, then to text, and remembers it for the run (zfs-fuse)', async () => {
    const text = fixture('zfs-fuse-0.7.0/mirror-healthy.txt')
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int'], usage('j'))
      .expect(['zpool', 'status', '-p'], usage('p'))
      .expect(['zpool', 'status'], {stdout: text})
      .expect(['zpool', 'status', '-g'], usage('g'))
      .expect(['zpool', 'status'], {stdout: text})
    const zpool = new Zpool(runner)
    expect((await zpool.status()).dialect).to.equal('text')
    expect((await zpool.status()).dialect).to.equal('text')
    runner.verify()
  })

  it('remembers what zfs-fuse rejects in the dialect cache, and the next run skips those calls', async () => {
    const text = fixture('zfs-fuse-0.7.0/mirror-healthy.txt')
    const list = 'tank\t123M\t544K\t122M\t0%\tONLINE\n'
    let stored: ZpoolDialect | undefined
    const cache: DialectCache = {read: async () => stored, write: async (dialect) => void (stored = dialect)}
    const first = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int'], usage('j'))
      .expect(['zpool', 'status', '-p'], usage('p'))
      .expect(['zpool', 'status'], {stdout: text})
      .expect(['zpool', 'status', '-g'], usage('g'))
      .expect(['zpool', 'list', '-Hp', '-o', 'name,size,allocated,free,capacity,health'], usage('p'))
      .expect(['zpool', 'list', '-H', '-o', 'name,size,allocated,free,capacity,health'], {stdout: list})
    const zpool = new Zpool(first, 'zpool', cache)
    await zpool.status()
    await zpool.capacity()
    expect(stored).to.deep.equal({status: 'text', guids: false, exactList: false})
    const next = new StubRunner()
      .expect(['zpool', 'status'], {stdout: text})
      .expect(['zpool', 'list', '-H', '-o', 'name,size,allocated,free,capacity,health'], {stdout: list})
    const again = new Zpool(next, 'zpool', cache)
    const [reading, capacity] = await Promise.all([again.status(), again.capacity()])
    expect(reading.dialect).to.equal('text')
    expect(capacity[0]).to.include({name: 'tank', health: 'ONLINE'})
  })

  it('keeps the dialect cache per installed zpool: a changed program is learned again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lnstore-dialect-'))
    try {
      const program = join(dir, 'zpool')
      writeFileSync(program, '#!/bin/sh\n')
      chmodSync(program, 0o755)
      const env = {PATH: dir}
      const learned: ZpoolDialect = {status: 'parsable', guids: true, exactList: true}
      await fileDialectCache(join(dir, 'state'), 'zpool', env).write(learned)
      expect(await fileDialectCache(join(dir, 'state'), 'zpool', env).read()).to.deep.equal(learned)
      appendFileSync(program, '# upgraded\n')
      expect(await fileDialectCache(join(dir, 'state'), 'zpool', env).read()).to.equal(undefined)
      expect(await fileDialectCache(join(dir, 'state'), 'zpool', {PATH: join(dir, 'nowhere')}).read()).to.equal(undefined)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('adds GUIDs from `zpool status -g` to text output (OpenZFS before 2.3)', async () => {
    const text = fixture('openzfs-2.1.11/002-mirror-healthy.txt')
    const withGuids = text.replace('mirror-0', '3250808195593496730').replace('vdb', '14401034150560727910').replace('vdc', '18041532485074462446')
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int'], usage('j'))
      .expect(['zpool', 'status', '-p'], {stdout: text})
      .expect(['zpool', 'status', '-g'], {stdout: withGuids})
    const {report, dialect} = await new Zpool(runner).status()
    expect(dialect).to.equal('parsable')
    expect([...walkVdevs(report.pools[0].vdevs)].map((vdev) => [vdev.name, vdev.guid])).to.deep.equal([
      ['mirror-0', '3250808195593496730'],
      ['vdb', '14401034150560727910'],
      ['vdc', '18041532485074462446'],
    ])
  })

  it('no pools at all: OpenZFS says so on stderr, with stdout empty (captured in the VM, 2.1.11)', async () => {
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int'], usage('j'))
      .expect(['zpool', 'status', '-p'], {stdout: '', stderr: fixture('openzfs-2.1.11/101-no-pools.txt')})
    const {report, dialect} = await new Zpool(runner).status()
    expect(dialect).to.equal('parsable')
    expect(report.pools).to.deep.equal([])
    runner.verify()
  })

  it('turns failures into errors that say what to do', async () => {
    const runner = new StubRunner().expect(['zpool', 'status', '-j', '--json-int', 'nosuch'], {exitCode: 1, stderr: "cannot open 'nosuch': no such pool\n"})
    const error = await new Zpool(runner).status(['nosuch']).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(ZpoolError)
    expect(error).to.include({failure: 'no-such-pool'})
    expect((error as Error).message).to.equal("zpool status -j --json-int nosuch: cannot open 'nosuch': no such pool")
    expect((error as ZpoolError).nextStep).to.match(/zpool list/)
  })

  it('classifies the messages zpool really prints', () => {
    expect(classifyFailure(failed('/usr/bin/bash: line 1: zpool: command not found', 127))).to.equal('missing')
    expect(classifyFailure(failed('connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\ninternal error: failed to initialize ZFS library'))).to.equal('not-running')
    expect(classifyFailure(failed('The ZFS modules are not loaded.\nTry running \'/sbin/modprobe zfs\' as root to load them.'))).to.equal('not-running')
    expect(classifyFailure(failed('Permission denied the ZFS utilities must be run as root.'))).to.equal('permission')
    expect(classifyFailure(failed('', null))).to.equal('timeout')
    expect(classifyFailure(failed('something else'))).to.equal('failed')
  })

  it('reads `zpool list -H` with exact and abbreviated numbers', () => {
    expect(parseCapacityList('tank\t500107862016\t1073741824\t499034120192\t0\tONLINE\n')).to.deep.equal([
      {name: 'tank', sizeBytes: 500_107_862_016, allocatedBytes: 1_073_741_824, freeBytes: 499_034_120_192, capacityPercent: 0, health: 'ONLINE'},
    ])
    expect(parseCapacityList('tp\t123M\t544K\t122M\t12%\tDEGRADED\n')[0]).to.include({sizeBytes: 123 * 1024 ** 2, capacityPercent: 12, health: 'DEGRADED'})
  })
})
