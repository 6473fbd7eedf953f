import {expect} from 'chai'
import {readFileSync} from 'node:fs'

import {chooseProperties, parsePropertyUsage} from '../../src/zfs/properties.js'

const usage = (name: string) => readFileSync(new URL(`../fixtures/zfs-usage/${name}`, import.meta.url), 'utf8')

describe('pool and dataset settings', () => {
  it('reads the property tables zpool get and zfs get print', () => {
    const pool = parsePropertyUsage(usage('zfs-fuse-0.7.0-zpool-get.txt'))
    expect(pool.get('ashift')).to.equal('<ashift, 9-13, or 0=default>')
    const dataset = parsePropertyUsage(usage('zfs-fuse-0.7.0-zfs-get.txt'))
    expect(dataset.get('compression')).to.equal('on | off | lzjb | gzip | gzip-[1-9] | zle')
    expect(dataset.has('acltype')).to.equal(false)
  })

  it('on zfs-fuse: skips lz4, xattr=sa and acltype with a note, and compresses with its default', () => {
    const chosen = chooseProperties(parsePropertyUsage(usage('zfs-fuse-0.7.0-zpool-get.txt')), parsePropertyUsage(usage('zfs-fuse-0.7.0-zfs-get.txt')))
    expect(chosen.pool.map(({property, value}) => `${property}=${value}`)).to.deep.equal(['ashift=12'])
    expect(chosen.root.map(({property, value}) => `${property}=${value}`)).to.deep.equal(['compression=on', 'atime=off', 'dedup=off', 'mountpoint=none', 'canmount=off'])
    expect(chosen.dataset.map(({property, value}) => `${property}=${value}`)).to.deep.equal(['recordsize=16K'])
    expect(chosen.skipped.map(({property, note}) => `${property}: ${note}`)).to.deep.equal([
      'compression: this ZFS offers only on | off | lzjb | gzip | gzip-[1-9] | zle',
      'xattr: this ZFS offers only on | off',
      'acltype: this ZFS has no such property',
    ])
  })

  it('uses the spelling this OpenZFS offers for acltype', () => {
    const dataset = new Map([
      ['compression', 'on | off | lzjb | gzip | gzip-[1-9] | zle | lz4 | zstd'],
      ['xattr', 'on | off | dir | sa'],
      ['acltype', 'off | nfsv4 | posix'],
      ['atime', 'on | off'],
      ['dedup', 'on | off | verify | sha256[,verify]'],
      ['mountpoint', '<path> | legacy | none'],
      ['canmount', 'on | off | noauto'],
      ['recordsize', '512 to 1M, power of 2'],
    ])
    const chosen = chooseProperties(new Map([['ashift', '<ashift, 9-16, or 0=default>']]), dataset)
    expect(chosen.skipped).to.deep.equal([])
    expect(chosen.root.find((choice) => choice.property === 'acltype')?.value).to.equal('posix')
    expect(chosen.root.find((choice) => choice.property === 'compression')?.value).to.equal('lz4')
  })
})
