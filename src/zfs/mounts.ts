import type {Finding} from './health.js'

export interface MountEntry {
  /** major:minor of the mounted filesystem's device. */
  deviceNumber: string
  mountPoint: string
  fsType: string
  source: string
}

/** Parses /proc/self/mountinfo (see proc(5)); octal escapes such as `\040` are decoded. */
export function parseMountInfo(text: string): MountEntry[] {
  const decode = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
  return text
    .split('\n')
    .filter((line) => line.includes(' - '))
    .map((line) => {
      const [before, after] = line.split(' - ')
      const fields = before.split(' ')
      const [fsType, source] = after.split(' ')
      return {deviceNumber: fields[2], mountPoint: decode(fields[4]), fsType, source: decode(source)}
    })
}

/**
 * The node's data directory must be the mounted dataset. After a failed import or mount it is an
 * empty directory on the root filesystem, and a node started there begins with no channel state.
 */
export function checkDataDirMount(mounts: MountEntry[], dataDir: string, dataset: string): Finding | null {
  const directory = dataDir.replace(/\/+$/, '') || '/'
  // The last entry wins: a later mount over the same point hides the earlier one.
  const mounted = mounts.findLast((entry) => entry.mountPoint === directory)
  const fix = `zpool import -a; zfs mount ${dataset}`
  if (!mounted) {
    return {verdict: 'CRITICAL', message: `the node data directory ${directory} is not a mount point: dataset ${dataset} is not mounted there, so the node would write to the root filesystem`, next: fix}
  }

  const isZfs = mounted.fsType === 'zfs' || mounted.fsType.startsWith('fuse.zfs')
  if (!isZfs || mounted.source !== dataset) {
    return {verdict: 'CRITICAL', message: `${directory} holds ${mounted.source} (${mounted.fsType}), not the dataset ${dataset}`, next: fix}
  }

  return null
}
