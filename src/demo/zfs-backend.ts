import {spawn} from 'node:child_process'
import {access} from 'node:fs/promises'

import type {Deps} from '../system/deps.js'

/** Which ZFS the demo uses, and how to put things back as they were. */
export interface ZfsBackend {
  kind: 'kernel module' | 'zfs-fuse'
  /** Stops the zfs-fuse daemon when the demo started it; nothing otherwise. */
  release(): Promise<void>
}

export class NoZfsError extends Error {
  constructor() {
    super(
      'no ZFS on this machine: neither the kernel module is loaded nor zfs-fuse installed. Install one and run the demo again:\n' +
        '  sudo apt install zfs-fuse                      # ZFS in user space: runs anywhere, the demo starts it\n' +
        '  sudo apt install zfs-dkms zfsutils-linux       # OpenZFS with the kernel module (Debian contrib)',
    )
    this.name = 'NoZfsError'
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The kernel module when it is loaded, else zfs-fuse, whose daemon is started when it is not running. */
export async function ensureZfs(deps: Deps): Promise<ZfsBackend> {
  const answers = async () => (await deps.runner.run(['zpool', 'list', '-H'], {timeoutMs: 10_000})).exitCode === 0
  const moduleLoaded = await access('/sys/module/zfs').then(() => true, () => false)
  if (moduleLoaded && (await answers())) return {kind: 'kernel module', release: async () => {}}

  const installed = (await deps.runner.run(['sh', '-c', 'command -v zfs-fuse'])).exitCode === 0
  if (!installed) throw new NoZfsError()
  if (await answers()) return {kind: 'zfs-fuse', release: async () => {}}

  // A daemon that outlives this call (stopped by release()): its own spawn, not the runner's run-to-the-end.
  const daemon = spawn('zfs-fuse', ['--no-daemon'], {detached: true, stdio: 'ignore'})
  daemon.unref()
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await answers()) {
      return {
        kind: 'zfs-fuse',
        async release() {
          daemon.kill('SIGTERM')
        },
      }
    }

    await sleep(100)
  }

  daemon.kill('SIGKILL')
  throw new Error('the zfs-fuse daemon did not answer within 10 s of being started (is /dev/fuse there? ls -l /dev/fuse)')
}
