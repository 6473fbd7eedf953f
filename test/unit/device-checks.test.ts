import {expect} from 'chai'

import {checkDevices, checkReplacement, type DeviceFacts} from '../../src/devices/checks.js'
import {partitionNumber} from '../../src/devices/facts.js'

const GIB = 1024 ** 3
let next = 0
const disk = (given: string, fields: Partial<DeviceFacts> = {}): DeviceFacts => ({
  given,
  exists: true,
  kind: 'block',
  path: given,
  realPath: given,
  stableName: null,
  identity: `8:${next++}`,
  sizeBytes: 500 * GIB,
  mountedAt: [],
  partitions: [],
  activePool: null,
  zfsLabel: null,
  signatures: [],
  ...fields,
})

const reasons = (devices: DeviceFacts[], options = {}) =>
  checkDevices(devices, {layout: 'mirror', force: false, allowFiles: false, ...options}).map((refusal) => `${refusal.device}: ${refusal.reason}`)

describe('device checks', () => {
  it('accepts two blank disks of the same size', () => {
    expect(reasons([disk('/dev/sda'), disk('/dev/sdb')])).to.deep.equal([])
  })

  it('refuses too few devices for the layout, with the minimum', () => {
    expect(reasons([disk('/dev/sda')])).to.deep.equal(['/dev/sda: a mirror needs at least 2 devices; 1 given'])
    expect(reasons([disk('/dev/sda'), disk('/dev/sdb'), disk('/dev/sdc')], {layout: 'raidz2'})).to.deep.equal(['/dev/sda /dev/sdb /dev/sdc: a raidz2 needs at least 4 devices; 3 given'])
    expect(reasons(['a', 'b', 'c', 'd', 'e'].map((name) => disk(`/dev/sd${name}`)), {layout: 'raidz3'})).to.deep.equal([])
  })

  it('refuses a missing device, a file without --allow-files, and the same disk twice', () => {
    expect(reasons([disk('/dev/sdz', {exists: false}), disk('/dev/sdb')])).to.deep.equal(['/dev/sdz: does not exist'])
    expect(reasons([disk('/tmp/a', {kind: 'file'}), disk('/tmp/b', {kind: 'file'})])).to.have.length(2)
    expect(reasons([disk('/tmp/a', {kind: 'file'}), disk('/tmp/b', {kind: 'file'})], {allowFiles: true})).to.deep.equal([])
    expect(reasons([disk('/dev/sda', {identity: '8:0'}), disk('/dev/disk/by-id/ata-X', {identity: '8:0'})])).to.deep.equal([
      '/dev/disk/by-id/ata-X: is the same disk as /dev/sda, given twice',
    ])
  })

  it('never lets --force through a mounted or pooled device', () => {
    const devices = [disk('/dev/sda', {mountedAt: ['/mnt/usb']}), disk('/dev/sdb', {activePool: 'tank'}), disk('/dev/sdc', {zfsLabel: 'old'})]
    const refusals = checkDevices(devices, {layout: 'raidz1', force: true, allowFiles: false})
    expect(refusals.map((refusal) => [refusal.reason, refusal.forceable])).to.deep.equal([
      ['is mounted (at /mnt/usb)', false],
      ['is part of the imported pool "tank"', false],
      ['holds a ZFS label of pool "old" (exported or destroyed)', false],
    ])
    expect(refusals[2].wayOut).to.equal('to use that pool: zpool import old; if its data is not needed: zpool labelclear -f /dev/sdc')
  })

  it('refuses signatures and partitions unless forced', () => {
    const devices = [disk('/dev/sda', {signatures: ['ext4']}), disk('/dev/sdb', {signatures: ['gpt', 'PMBR'], partitions: ['/dev/sdb1']})]
    expect(reasons(devices)).to.deep.equal(['/dev/sda: is not blank: signatures ext4', '/dev/sdb: is not blank: signatures gpt, PMBR; partitions /dev/sdb1'])
    expect(checkDevices(devices, {layout: 'mirror', force: false, allowFiles: false}).every((refusal) => refusal.forceable)).to.equal(true)
    expect(reasons(devices, {force: true})).to.deep.equal([])
  })

  it('refuses a much smaller device and says how much would be lost', () => {
    expect(reasons([disk('/dev/sda', {sizeBytes: 1000 * GIB}), disk('/dev/sdb', {sizeBytes: 500 * GIB})])).to.deep.equal([
      '/dev/sdb: is much smaller (500 GiB) than the largest (1000 GiB): the pool would be limited to the smallest, leaving 500 GiB unused',
    ])
    // Disks of "the same" size differ by a few sectors: that is fine.
    expect(reasons([disk('/dev/sda', {sizeBytes: 500 * GIB}), disk('/dev/sdb', {sizeBytes: 499 * GIB})])).to.deep.equal([])
  })
})

describe('replacement device checks', () => {
  const options = {force: false, allowFiles: false}

  it('accepts a blank disk at least as large as the one it replaces', () => {
    expect(checkReplacement(disk('/dev/sdd', {sizeBytes: 500 * GIB}), 500 * GIB, options)).to.deep.equal([])
  })

  it('refuses a smaller disk, and keeps the checks of init', () => {
    const refusals = checkReplacement(disk('/dev/sdd', {sizeBytes: 400 * GIB, activePool: 'tank'}), 500 * GIB, options).map((refusal) => refusal.reason)
    expect(refusals).to.deep.equal(['is part of the imported pool "tank"', 'is smaller (400 GiB) than the device it replaces (500 GiB)'])
  })

  it('refuses a path with a space or control character: zpool status prints space-separated columns, and the state could not be read back', () => {
    expect(reasons([disk('/srv/new disk', {kind: 'file'}), disk('/dev/sdb')], {allowFiles: true})).to.deep.equal([
      '/srv/new disk: its path "/srv/new disk" holds a space or control character: `zpool status` prints devices in space-separated columns, so lnstore could not read its state back',
    ])
    expect(checkReplacement(disk('/dev/sdc', {path: '/dev/disk/by-id/usb-Some\tDisk'}), 0, {force: false, allowFiles: false}).map((refusal) => refusal.reason)[0]).to.contain('holds a space or control character')
  })
})


describe('partition numbers', () => {
  it('reads the digits a partition\'s name ends in, kernel or udev name alike; none for a name without', () => {
    expect(['sdb1', 'p2', 'nvme0n1p10', '/dev/disk/by-id/virtio-lnstore-disk2-part9', '/dev/mmcblk0p3'].map(partitionNumber)).to.deep.equal([1, 2, 10, 9, 3])
    expect(partitionNumber('')).to.equal(null)
    expect(partitionNumber('/dev/disk/by-id/ata-Some_Disk')).to.equal(null)
  })
})
