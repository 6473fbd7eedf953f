import {chmodSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {parseMountInfo} from '../../src/storage/mounts.js'

/**
 * One temporary folder per test run (loaded by .mocharc.cjs before any test file): every
 * `mkdtemp(tmpdir())` of the tests and of the programs they start lands in it, and it goes when the
 * run ends, so runs do not leave dozens of folders in /tmp. A folder with something still mounted
 * below it (a ChironFS or tmpfs a failed test left) is kept, and the run says so: removing files
 * through a live mount would reach into what it serves. The name is short: the node's RPC socket
 * lives below it, and a UNIX socket's path has at most 107 bytes.
 */
const root = mkdtempSync(join(tmpdir(), 'lnt-'))
// As /tmp itself: the tests that run lnstore as another user (nobody) give it folders in here.
chmodSync(root, 0o1777)
process.env.TMPDIR = root

function mountedBelow(folder: string): string[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((mount) => mount.mountPoint)
    .filter((mountPoint) => mountPoint.startsWith(`${folder}/`))
}

export const mochaHooks = {
  afterAll() {
    const mounts = mountedBelow(root)
    if (mounts.length > 0) console.log(`temp-root: kept ${root}: still mounted below it: ${mounts.join(', ')}`)
    else rmSync(root, {recursive: true, force: true})
  },
}
