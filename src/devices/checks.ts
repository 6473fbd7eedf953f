/**
 * Whether a device may become part of a new pool. Facts are gathered elsewhere (devices/facts.ts);
 * the rules here are pure, so each refusal can be tested on data and on real devices alike.
 */

export interface DeviceFacts {
  /** As the user typed it. */
  given: string
  exists: boolean
  kind: 'block' | 'file' | 'other'
  /** The path lnstore hands to zpool: the stable /dev/disk/by-id name where there is one. */
  path: string
  realPath: string
  /** The /dev/disk/by-id name, or null (loop devices, files, machines without udev). */
  stableName: string | null
  /** What makes two names the same disk: major:minor for block devices, dev:inode for files. */
  identity: string
  sizeBytes: number
  /** Mount points of the device or any of its partitions. */
  mountedAt: string[]
  partitions: string[]
  /** The imported pool it is part of, if any. */
  activePool: string | null
  /** A ZFS label found on it (an exported or destroyed pool's), with that pool's name. */
  zfsLabel: string | null
  /** Filesystem, RAID and partition-table signatures other than ZFS's (wipefs -n). */
  signatures: string[]
}

export interface Refusal {
  device: string
  reason: string
  wayOut: string
  /** True only for the signature check: `--force` never overrides mounted or in-pool devices. */
  forceable: boolean
}

/** A command that will not go ahead; each refusal says why and what to do instead. */
export class Refused extends Error {
  /** Exit code 2: refused before anything was touched. */
  readonly exitCode = 2

  constructor(
    command: string,
    readonly refusals: Refusal[],
  ) {
    super(`lnstore ${command} refused:\n${refusals.map((refusal) => `  ${refusal.device}: ${refusal.reason}\n    → ${refusal.wayOut}`).join('\n')}`)
    this.name = 'Refused'
  }
}

export type Layout = 'mirror' | 'raidz1' | 'raidz2' | 'raidz3'

/** Fewest devices that make each layout worth having: a raidzN of N+1 disks is a mirror with extra overhead. */
export const MIN_DEVICES: Record<Layout, number> = {mirror: 2, raidz1: 3, raidz2: 4, raidz3: 5}

/** A device smaller than this share of the largest wastes too much of the others. */
const SIZE_TOLERANCE = 0.9

export interface CheckOptions {
  layout: Layout
  force: boolean
  allowFiles: boolean
}

/** Every reason to refuse these devices; an empty list means they may be used. */
export function checkDevices(devices: DeviceFacts[], options: CheckOptions): Refusal[] {
  const refusals: Refusal[] = []
  const refuse = (device: DeviceFacts, reason: string, wayOut: string, forceable = false) => refusals.push({device: device.given, reason, wayOut, forceable})

  if (devices.length < MIN_DEVICES[options.layout]) {
    refusals.push({
      device: devices.map((device) => device.given).join(' ') || '(none)',
      reason: `a ${options.layout} needs at least ${MIN_DEVICES[options.layout]} devices; ${devices.length} given`,
      wayOut: `give ${MIN_DEVICES[options.layout]} or more devices${options.layout === 'mirror' ? '' : ', or use --mirror'}`,
      forceable: false,
    })
  }

  const seen = new Map<string, DeviceFacts>()
  for (const device of devices) {
    refusals.push(...checkDevice(device, options))
    if (!device.exists) continue
    const twin = seen.get(device.identity)
    if (twin) refuse(device, `is the same ${device.kind === 'file' ? 'file' : 'disk'} as ${twin.given}, given twice`, 'give each device once')
    seen.set(device.identity, device)
  }

  const sized = devices.filter((device) => device.exists && device.sizeBytes > 0)
  const largest = Math.max(0, ...sized.map((device) => device.sizeBytes))
  for (const device of sized) {
    if (device.sizeBytes < largest * SIZE_TOLERANCE) {
      const lost = (largest - device.sizeBytes) * (sized.length - 1)
      refuse(
        device,
        `is much smaller (${gib(device.sizeBytes)}) than the largest (${gib(largest)}): the pool would be limited to the smallest, leaving ${gib(lost)} unused`,
        'use devices of similar size',
      )
    }
  }

  return refusals
}

/** The reasons to refuse one device, whatever pool it joins: missing, not a disk, mounted, in a pool, not blank. */
export function checkDevice(device: DeviceFacts, options: {force: boolean; allowFiles: boolean}): Refusal[] {
  const refusals: Refusal[] = []
  const refuse = (device: DeviceFacts, reason: string, wayOut: string, forceable = false) => refusals.push({device: device.given, reason, wayOut, forceable})
  const unreadable = [device.given, device.path].find((name) => !readableBack(name))
  if (unreadable !== undefined) {
    refuse(
      device,
      `its path ${JSON.stringify(unreadable)} holds a space or control character: \`zpool status\` prints devices in space-separated columns, so lnstore could not read its state back`,
      'use a device whose path has no spaces: its /dev/disk/by-id name (a file: move it to such a path)',
    )
    return refusals
  }

  if (!device.exists) {
    refuse(device, 'does not exist', 'check the name with `lsblk` or `ls -l /dev/disk/by-id`')
    return refusals
  }

  if (device.kind === 'file' && !options.allowFiles) {
    refuse(device, 'is a regular file, not a disk: files are for tests and trials only', 'give a disk, or add --allow-files for a trial pool')
  } else if (device.kind === 'other') {
    refuse(device, 'is neither a block device nor a regular file', 'give a disk such as /dev/disk/by-id/ata-...')
  }

  if (device.mountedAt.length > 0) {
    refuse(device, `is mounted (at ${device.mountedAt.join(', ')})`, `it is in use: unmount it first (umount ${device.mountedAt[0]}) if you really mean to erase it`)
  }

  if (device.activePool) {
    refuse(device, `is part of the imported pool "${device.activePool}"`, `pick another device; to free this one: zpool detach/remove it from ${device.activePool}`)
  } else if (device.zfsLabel) {
    refuse(
      device,
      `holds a ZFS label of pool "${device.zfsLabel}" (exported or destroyed)`,
      `to use that pool: zpool import ${device.zfsLabel}; if its data is not needed: zpool labelclear -f ${device.path}`,
    )
  }

  const found = [...(device.signatures.length > 0 ? [`signatures ${device.signatures.join(', ')}`] : []), ...(device.partitions.length > 0 ? [`partitions ${device.partitions.join(', ')}`] : [])]
  if (found.length > 0 && !options.force) {
    refuse(device, `is not blank: ${found.join('; ')}`, `check it is the disk you mean (wipefs -n ${device.path}; lsblk ${device.path}), then add --force to erase it`, true)
  }

  return refusals
}

/** Whether `zpool status` prints this path so that lnstore reads it back as one name: no whitespace, no control characters. */
export function readableBack(path: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\s\u0000-\u001F\u007F]/.test(path)
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 2 : 0)} GiB`

/** Whether a device may replace a pool member of `requiredBytes`: the checks of `init`, and at least as large (ZFS refuses smaller). */
export function checkReplacement(device: DeviceFacts, requiredBytes: number, options: {force: boolean; allowFiles: boolean}): Refusal[] {
  const refusals = checkDevice(device, options)
  if (device.exists && device.sizeBytes < requiredBytes) {
    refusals.push({
      device: device.given,
      reason: `is smaller (${gib(device.sizeBytes)}) than the device it replaces (${gib(requiredBytes)})`,
      wayOut: 'use a device at least as large as the failing one',
      forceable: false,
    })
  }

  return refusals
}
