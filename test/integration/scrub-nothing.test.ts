import {expect} from 'chai'
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {lnstore} from '../support/cli.js'

/**
 * `lnstore scrub` on a machine with no pool imported. The shared zfs-fuse daemon always holds
 * other tests' pools, so a machine without pools cannot be shown for real here: a stand-in zpool
 * answers every call as zfs-fuse does then ("no pools available" on standard output, exit 0).
 */
describe('lnstore scrub with no pool to scrub', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-scrub-nothing-'))
  const zpool = join(dir, 'zpool')
  writeFileSync(zpool, '#!/bin/sh\necho "no pools available"\n')
  chmodSync(zpool, 0o755)
  writeFileSync(join(dir, 'config.json'), '{}')
  const env = {PATH: `${dir}:${process.env.PATH}`, LNSTORE_CONFIG: join(dir, 'config.json'), LNSTORE_STATE_DIR: join(dir, 'state')}

  it('says that nothing was scrubbed and exits 3, instead of printing nothing and exiting 0', () => {
    const run = lnstore(['scrub'], {env})
    expect(run.status, run.stderr).to.equal(3)
    expect(run.stdout).to.equal('nothing scrubbed: no pool is imported; check with zpool list (an exported pool: zpool import <pool>)\n')
  })
})
