import type {Finding} from '../storage/verdict.js'

export interface MountEntry {
  /** major:minor of the mounted filesystem's device ('' where the table does not say: /proc/mounts). */
  deviceNumber: string
  mountPoint: string
  fsType: string
  source: string
  /** The mount's options and the filesystem's (NFS's soft, timeo, sync ... are there): `name` or `name=value`. */
  options: Map<string, string | true>
}

const decode = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))

function parseOptions(...lists: (string | undefined)[]): Map<string, string | true> {
  const options = new Map<string, string | true>()
  for (const option of lists.filter(Boolean).join(',').split(',').filter(Boolean)) {
    const at = option.indexOf('=')
    if (at === -1) options.set(option, true)
    else options.set(option.slice(0, at), option.slice(at + 1))
  }

  return options
}

/** Parses /proc/self/mountinfo (see proc(5)); octal escapes such as `\040` are decoded. */
export function parseMountInfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter((line) => line.includes(' - '))
    .map((line) => {
      const [before, after] = line.split(' - ')
      const fields = before.split(' ')
      const [fsType, source, superOptions] = after.split(' ')
      return {deviceNumber: fields[2], mountPoint: decode(fields[4]), fsType, source: decode(source), options: parseOptions(fields[5], superOptions)}
    })
}

/** Parses /proc/mounts (or /etc/mtab): `SOURCE MOUNTPOINT TYPE OPTIONS 0 0`. */
export function parseProcMounts(text: string): MountEntry[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 4)
    .map(([source, mountPoint, fsType, options]) => ({deviceNumber: '', mountPoint: decode(mountPoint), fsType, source: decode(source), options: parseOptions(options)}))
}

/** The mount a path lives on: the longest mount point that contains it (the last one mounted there wins). */
export function mountOf(path: string, mounts: MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null
  for (const mount of mounts) {
    const inside = mount.mountPoint === '/' || path === mount.mountPoint || path.startsWith(`${mount.mountPoint}/`)
    if (inside && (!best || mount.mountPoint.length >= best.mountPoint.length)) best = mount
  }

  return best
}

/**
 * The node's data directory must be the mounted dataset. After a failed import or mount it is an
 * empty directory on the root filesystem, and a node started there begins with no channel state.
 */
export function checkDataDirMount(mounts: MountEntry[], dataDir: string, dataset: string): Finding | null {
  const directory = dataDir.replace(/\/+$/, '') || '/'
  // The last entry wins: a later mount over the same point hides the earlier one.
  const mounted = mounts.findLast((entry) => entry.mountPoint === directory)
  // `zfs mount -a`, not `zfs mount DATASET`: when the import mounted it already, the named mount
  // fails ("filesystem already mounted") and the advice, run as printed, would end in an error.
  const fix = 'zpool import -a; zfs mount -a'
  if (!mounted) {
    return {verdict: 'CRITICAL', message: `the node data directory ${directory} is not a mount point: dataset ${dataset} is not mounted there, so the node would write to the root filesystem`, next: fix}
  }

  const isZfs = mounted.fsType === 'zfs' || mounted.fsType.startsWith('fuse.zfs')
  if (!isZfs || mounted.source !== dataset) {
    return {verdict: 'CRITICAL', message: `${directory} holds ${mounted.source} (${mounted.fsType}), not the dataset ${dataset}`, next: fix}
  }

  return null
}
