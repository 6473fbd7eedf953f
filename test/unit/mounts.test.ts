import {expect} from 'chai'

import {checkDataDirMount, parseMountInfo} from '../../src/storage/mounts.js'

// Real lines: the host's root, a zfs-fuse dataset, an OpenZFS dataset, and a path with a space.
const MOUNTINFO = `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
48 27 0:43 / /tmp/zt/ln rw,relatime - fuse.zfs tp/lightning rw,user_id=0,group_id=0,default_permissions,allow_other
61 22 0:52 / /home/bitcoin/.lightning rw,noatime shared:30 - zfs tank/lightning rw,xattr,posixacl
62 22 0:53 / /srv/my\\040node rw - zfs tank/other rw
`

describe('node data directory mount', () => {
  const mounts = parseMountInfo(MOUNTINFO)

  it('reads mountinfo, decoding escapes', () => {
    expect(mounts.map((mount) => mount.mountPoint)).to.deep.equal(['/', '/tmp/zt/ln', '/home/bitcoin/.lightning', '/srv/my node'])
    expect(mounts[1]).to.deep.include({deviceNumber: '0:43', mountPoint: '/tmp/zt/ln', fsType: 'fuse.zfs', source: 'tp/lightning'})
    expect(mounts[1].options.get('allow_other')).to.equal(true)
    expect(mounts[2].options.get('xattr')).to.equal(true)
  })

  it('passes when the dataset is mounted there (kernel ZFS and zfs-fuse)', () => {
    expect(checkDataDirMount(mounts, '/home/bitcoin/.lightning/', 'tank/lightning')).to.equal(null)
    expect(checkDataDirMount(mounts, '/tmp/zt/ln', 'tp/lightning')).to.equal(null)
  })

  it('is CRITICAL when the directory is a plain directory on the root filesystem', () => {
    const finding = checkDataDirMount(mounts, '/home/alice/.lightning', 'tank/lightning')
    expect(finding).to.deep.include({verdict: 'CRITICAL', next: 'zpool import -a; zfs mount -a'})
    expect(finding?.message).to.match(/is not a mount point/)
  })

  it('is CRITICAL when another filesystem is mounted there', () => {
    expect(checkDataDirMount(mounts, '/srv/my node', 'tank/lightning')?.message).to.equal('/srv/my node holds tank/other (zfs), not the dataset tank/lightning')
  })
})
