import {readFile, readdir, realpath, stat} from 'node:fs/promises'
import {basename, join} from 'node:path'

import type {Deps} from '../system/deps.js'
import {CommandError} from '../system/runner.js'
import {parseMountInfo} from '../storage/mounts.js'
import {isLeaf, walkVdevs, type StatusReport, type Vdev} from '../zfs/status-model.js'
import type {DeviceFacts} from './checks.js'

const BY_ID = '/dev/disk/by-id'

/** Looks at each device as it is now: what it is, its stable name, size, mounts, pools and signatures. */
export async function gatherDeviceFacts(deps: Deps, given: string[], pools: StatusReport): Promise<DeviceFacts[]> {
  const mounts = parseMountInfo(await deps.readFile('/proc/self/mountinfo'))
  const stableNames = await listStableNames()
  const poolPaths = await poolMemberPaths(pools)
  return Promise.all(
    given.map(async (name) => {
      const facts = await inspect(name)
      if (!facts.exists) return facts
      const stable = stableNames.get(facts.realPath)
      const members = [facts.realPath, ...facts.partitions]
      const labels = await Promise.all(members.map((path) => signaturesOf(deps, path)))
      return {
        ...facts,
        stableName: stable ?? null,
        path: stable ?? facts.path,
        mountedAt: mounts.filter((mount) => facts.kind === 'block' && facts.deviceNumbers.includes(mount.deviceNumber)).map((mount) => mount.mountPoint),
        activePool: members.map((path) => poolPaths.get(path)).find(Boolean) ?? null,
        zfsLabel: labels.flat().find((signature) => signature.type === 'zfs_member')?.label ?? null,
        signatures: labels.flatMap((signatures, index) =>
          signatures.filter((signature) => signature.type !== 'zfs_member').map((signature) => (index === 0 ? signature.type : `${signature.type} (on ${basename(members[index])})`)),
        ),
      }
    }),
  )
}

type Inspected = DeviceFacts & {deviceNumbers: string[]}

async function inspect(given: string): Promise<Inspected> {
  const facts: Inspected = {
    given,
    exists: false,
    kind: 'other',
    path: given,
    realPath: given,
    stableName: null,
    identity: given,
    sizeBytes: 0,
    mountedAt: [],
    partitions: [],
    activePool: null,
    zfsLabel: null,
    signatures: [],
    deviceNumbers: [],
  }
  let info
  try {
    info = await stat(given)
    facts.realPath = await realpath(given)
  } catch {
    return facts
  }

  facts.exists = true
  facts.path = facts.realPath
  if (info.isFile()) {
    Object.assign(facts, {kind: 'file', identity: `${info.dev}:${info.ino}`, sizeBytes: info.size})
  } else if (info.isBlockDevice()) {
    const sys = join('/sys/class/block', basename(facts.realPath))
    const partitions = await partitionNames(facts.realPath)
    const numbers = await Promise.all([sys, ...partitions.map((part) => join(sys, part))].map((dir) => readFile(join(dir, 'dev'), 'utf8').then((text) => text.trim())))
    Object.assign(facts, {
      kind: 'block',
      identity: numbers[0],
      deviceNumbers: numbers,
      sizeBytes: Number(await readFile(join(sys, 'size'), 'utf8')) * 512,
      partitions: partitions.map((part) => join('/dev', part)),
    })
  }

  return facts
}

async function partitionNames(realPath: string): Promise<string[]> {
  return (await readdir(join('/sys/class/block', basename(realPath))).catch(() => [])).filter((entry) => entry.startsWith(basename(realPath)))
}

/**
 * The partitions of a block device (none for a partition or a file): by the stable name udev gives
 * them beside a /dev/disk/by-* path (`NAME-partN`), which is the name the operator gave, else as /dev paths.
 */
export async function partitionsOf(path: string): Promise<string[]> {
  const realPath = await realpath(path).catch(() => null)
  if (!realPath) return []
  return Promise.all((await partitionNames(realPath)).map(async (name) => {
    const kernelPath = join('/dev', name)
    const number = partitionNumber(name.slice(basename(realPath).length))
    const stable = path.startsWith('/dev/disk/') && number !== null ? `${path}-part${number}` : null
    return stable && (await realpath(stable).catch(() => null)) === kernelPath ? stable : kernelPath
  }))
}

/** A partition's number, from the digits its name ends in (`sdb1`, `nvme0n1p2`, `…-part9`); null when it ends in none. */
export function partitionNumber(name: string): number | null {
  const digits = /(\d+)$/.exec(name)?.[1]
  return digits === undefined ? null : Number(digits)
}

/** /dev/disk/by-id names by the device they point to; ata-/nvme-/scsi- names before wwn- ones, which say nothing to a person. */
async function listStableNames(): Promise<Map<string, string>> {
  const names = (await readdir(BY_ID).catch(() => [])).sort((a, b) => Number(/^(wwn-|nvme-eui\.)/.test(a)) - Number(/^(wwn-|nvme-eui\.)/.test(b)) || a.localeCompare(b))
  const byTarget = new Map<string, string>()
  for (const name of names) {
    const target = await realpath(join(BY_ID, name)).catch(() => null)
    if (target && !byTarget.has(target)) byTarget.set(target, join(BY_ID, name))
  }

  return byTarget
}

/** Where the device of a pool member may be: zpool prints a path, or a name under /dev or /dev/disk/by-id (whole disks without their partition). */
export function memberPaths(vdev: Vdev): string[] {
  return [vdev.path, vdev.name.startsWith('/') ? vdev.name : null, join('/dev', vdev.name), join(BY_ID, vdev.name)].filter((candidate): candidate is string => Boolean(candidate))
}

/** The real path of every leaf of every imported pool, to its pool's name. */
async function poolMemberPaths(report: StatusReport): Promise<Map<string, string>> {
  const members = new Map<string, string>()
  for (const pool of report.pools) {
    for (const vdev of walkVdevs(pool.vdevs)) {
      if (!isLeaf(vdev)) continue
      for (const candidate of memberPaths(vdev)) {
        const target = await realpath(candidate).catch(() => null)
        if (target) members.set(target, pool.name)
      }
    }
  }

  return members
}

interface Signature {
  type: string
  label?: string | null
}

async function signaturesOf(deps: Deps, path: string): Promise<Signature[]> {
  const result = await deps.runner.run(['wipefs', '--no-act', '--json', path])
  // Without this check a disk holding data could look blank: a failure here stops the checks.
  if (result.exitCode !== 0) throw new CommandError(result, `cannot read the signatures on ${path} (wipefs, from util-linux): ${result.stderr.trim()}`)
  if (result.stdout.trim() === '') return []
  const {signatures = []} = JSON.parse(result.stdout) as {signatures?: Signature[]}
  // wipefs lists every copy of a label (ZFS keeps four): one per type is enough.
  return signatures.filter((signature, index) => signatures.findIndex((other) => other.type === signature.type) === index)
}
