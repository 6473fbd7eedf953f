/**
 * Real ZFS for integration tests. Two backends, one interface:
 * - zfs-fuse (default, every run): pools on sparse files; the daemon is started if it is not running.
 * - the OpenZFS kernel module (LNSTORE_TEST_ZFS=kernel, in the VM tier): pools on the blank disks
 *   listed in LNSTORE_TEST_DISKS.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'

import {ensureZfs as ensureZfsForDemo} from '../../src/demo/zfs-backend.js'
import {systemDeps} from '../../src/system/deps.js'
import {waitFor, waitForSync} from './wait.js'

export type Backend = 'zfs-fuse' | 'kernel'

export const backend: Backend = process.env.LNSTORE_TEST_ZFS === 'kernel' ? 'kernel' : 'zfs-fuse'

/**
 * Skips the running test on the other backend, with the reason in its title (mocha lists it as
 * pending, and the VM tier's summary as skipped): for what one backend cannot show, never to hide
 * a difference that lnstore should handle.
 */
export function onlyOn(wanted: Backend, context: Mocha.Context, why: string): void {
  if (backend === wanted) return
  if (context.test) context.test.title += ` [skipped on ${backend}: ${why}]`
  context.skip()
}

/**
 * In the VM tier, runs the test on one OpenZFS version only (skipped on the other, with the reason
 * in its title); everywhere else it runs. For the long cases around the node whose ZFS part (a
 * replace, a pool created or destroyed) both versions already show in other cases: CI has 90 min
 * for everything. LNSTORE_TEST_EVERY_VARIANT=1 runs them on both (test/vm/README.md).
 */
export function onlyOnVariant(wanted: 'openzfs-2.1' | 'openzfs-2.3', context: Mocha.Context, why: string): void {
  const variant = process.env.LNSTORE_VM_VARIANT
  if (backend !== 'kernel' || !variant || variant === wanted || process.env.LNSTORE_TEST_EVERY_VARIANT === '1') return
  if (context.test) context.test.title += ` [skipped on ${variant}: runs on ${wanted}; ${why}]`
  context.skip()
}

/** How `zpool status` names a device the test gave by path: zfs-fuse prints the file's path, OpenZFS a by-id whole disk's last path part. */
export function printedName(device: string): string {
  return backend === 'kernel' && device.startsWith('/dev/disk/by-id/') ? basename(device) : device
}

/** Whether `zpool status` text lists the device (as a whole word: virtio-lnstore-disk1 is not disk10). */
export function listsDevice(status: string, device: string): boolean {
  return new RegExp(`(^|\\s)${printedName(device).replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`, 'm').test(status)
}

export function sh(command: string, args: string[], options: {allowFailure?: boolean} = {}): string {
  try {
    return execFileSync(command, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    if (options.allowFailure) return ''
    const {stderr, stdout} = error as {stderr?: string; stdout?: string}
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || stdout || (error as Error).message}`)
  }
}

/** Makes sure `zpool` answers: starts the zfs-fuse daemon when needed. Fails loudly when ZFS is missing. */
export async function ensureZfs(): Promise<void> {
  if (backend === 'kernel') {
    sh('zpool', ['list'])
    return
  }

  // The demo's own lookup: zfs-fuse, its daemon started when it is not running (left running after).
  await ensureZfsForDemo(systemDeps)
}

export interface PoolHandle {
  name: string
  devices: string[]
  mountpoint: string
}

/** A scratch area holding pools that are destroyed again by `cleanup()`. */
export class ZfsSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'lnstore-zfs-'))
  private pools: string[] = []
  private nextDisk = 0

  /** Blank devices: sparse files (zfs-fuse) or the VM's spare disks (kernel). */
  devices(count: number, sizeMb = 128): string[] {
    if (backend === 'kernel') {
      const disks = (process.env.LNSTORE_TEST_DISKS ?? '').split(/\s+/).filter(Boolean)
      const picked = disks.slice(this.nextDisk, this.nextDisk + count)
      if (picked.length < count) throw new Error(`the VM has ${disks.length} test disks; this test needs ${this.nextDisk + count}`)
      this.nextDisk += count
      for (const disk of picked) blankDisk(disk)
      return picked
    }

    return Array.from({length: count}, () => {
      const file = join(this.dir, `disk${this.nextDisk++}`)
      sh('truncate', ['-s', `${sizeMb}M`, file])
      return file
    })
  }

  /** A pool lnstore itself creates in a test (`init`): destroyed by `cleanup()` like the sandbox's own. */
  adoptPool(name: string): void {
    this.pools.push(name)
  }

  /** Creates a pool; its name gets this process's id appended, so that test runs side by side do not collide. */
  createPool(baseName: string, layout: string[], devices: string[]): PoolHandle {
    const name = `${baseName}${process.pid}`
    const mountpoint = join(this.dir, `mnt-${name}`)
    sh('zpool', ['create', '-f', '-m', mountpoint, name, ...layout, ...devices])
    this.pools.push(name)
    return {name, devices, mountpoint}
  }

  /** Writes `megabytes` of incompressible data into the pool, so corruption hits real blocks. */
  fill(pool: PoolHandle, megabytes: number): void {
    sh('dd', ['if=/dev/urandom', `of=${join(pool.mountpoint, 'data.bin')}`, 'bs=1M', `count=${megabytes}`, 'conv=fsync', 'status=none'])
  }

  /**
   * Overwrites one device behind ZFS's back (pool exported meanwhile), as a failing disk would.
   * zfs-fuse: 40 MiB of a sparse file, where its allocator put the data. OpenZFS spreads a pool's
   * data over all metaslabs of the disk (2.1 put nearly none of it at a fixed 40 MiB range), so
   * there the whole data area of the partition is zeroed: everything after the front labels and
   * boot area (4 MiB) up to the back labels (last 512 KiB).
   */
  corrupt(pool: PoolHandle, device: string): void {
    sh('zpool', ['export', pool.name])
    if (backend === 'kernel') {
      const partition = `${device}-part1`
      const mebibytes = Math.floor(Number(sh('blockdev', ['--getsize64', partition])) / 2 ** 20)
      sh('dd', ['if=/dev/zero', `of=${partition}`, 'bs=1M', 'seek=4', `count=${mebibytes - 5}`, 'conv=notrunc,fsync', 'status=none'])
    } else {
      sh('dd', ['if=/dev/urandom', `of=${device}`, 'bs=1M', 'seek=8', 'count=40', 'conv=notrunc,fsync', 'status=none'])
    }

    this.importPool(pool.name)
  }

  /** Imports an exported pool of this sandbox again, from where its devices are. */
  importPool(name: string): void {
    sh('zpool', ['import', '-d', backend === 'kernel' ? '/dev/disk/by-id' : this.dir, name])
  }

  /** Starts a scrub and polls until it ends (zfs-fuse has no `zpool wait`). */
  async scrub(pool: PoolHandle): Promise<void> {
    sh('zpool', ['scrub', pool.name])
    await this.scrubEnded(pool)
  }

  /** Polls until the running scrub ends (OpenZFS refuses a second `zpool scrub` meanwhile: "currently scrubbing"). */
  async scrubEnded(pool: PoolHandle): Promise<void> {
    let status = ''
    await waitFor(`the scrub of ${pool.name} to end`, () => {
      status = sh('zpool', ['status', pool.name])
      return !/(scrub|scan:\s+scrub) in progress/.test(status)
    }, {pollMs: 200, seen: () => status})
  }

  cleanup(): void {
    for (const name of this.pools.reverse()) destroyPool(name)
    this.pools = []
    if (backend === 'kernel') {
      // Blank again for the next test file: no ZFS label, and no partition table either (OpenZFS
      // partitions a whole disk; `lnstore init` rightly refuses a disk with partitions).
      for (const disk of (process.env.LNSTORE_TEST_DISKS ?? '').split(/\s+/).filter(Boolean)) wipeDisk(disk)
      sh('udevadm', ['settle'], {allowFailure: true})
      this.nextDisk = 0
    }

    rmSync(this.dir, {recursive: true, force: true})
  }
}

/**
 * Blank again for the next test: no ZFS label, and no partition table either (OpenZFS partitions a
 * whole disk; `lnstore init` rightly refuses a disk with partitions).
 */
function wipeDisk(disk: string): void {
  sh('zpool', ['labelclear', '-f', `${disk}-part1`], {allowFailure: true})
  sh('wipefs', ['--all', '--force', disk], {allowFailure: true})
  // The kernel keeps its view of the old partitions when the re-read after wipefs finds the disk
  // busy for a moment; lnstore (rightly) reads that view and refuses the disk.
  sh('partx', ['--delete', disk], {allowFailure: true})
}

/** Hands out a VM disk only once the kernel, too, sees no partitions on it (sysfs, which lnstore reads). */
function blankDisk(disk: string): void {
  const name = basename(realpathSync(disk))
  let partitions: string[] = []
  waitForSync(`${disk} (${name}) to show no partitions (is it still in a pool? zpool status)`, () => {
    partitions = readdirSync(`/sys/block/${name}`).filter((entry) => entry.startsWith(name))
    if (partitions.length === 0) return true
    wipeDisk(disk)
    sh('udevadm', ['settle'], {allowFailure: true})
    return false
  }, {pollMs: 250, seen: () => `partitions ${partitions.join(', ')}`})
}

/** zfs-fuse at times answers "pool is busy" for a moment after a test's last command: try again rather than leave the pool behind. */
function destroyPool(name: string): void {
  let stderr = ''
  waitForSync(`zpool destroy -f ${name} to succeed`, () => {
    const result = spawnSync('zpool', ['destroy', '-f', name], {encoding: 'utf8'})
    stderr = result.stderr
    return result.status === 0 || /no such pool/.test(result.stderr)
  }, {pollMs: 250, seen: () => stderr.trim()})
}

/** Loop devices over sparse files: real block devices for the device-safety tests. */
export class LoopDevices {
  private attached: string[] = []

  constructor(private readonly dir: string) {}

  create(sizeMb: number): string {
    const file = join(this.dir, `loop-backing-${this.attached.length}-${Date.now()}`)
    sh('truncate', ['-s', `${sizeMb}M`, file])
    const device = sh('losetup', ['--find', '--show', file]).trim()
    this.attached.push(device)
    return device
  }

  cleanup(): void {
    for (const device of this.attached) {
      sh('umount', [device], {allowFailure: true})
      sh('losetup', ['-d', device], {allowFailure: true})
    }

    this.attached = []
  }
}
