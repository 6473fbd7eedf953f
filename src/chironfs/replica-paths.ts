import {lstat, realpath, stat} from 'node:fs/promises'
import {dirname, isAbsolute, posix} from 'node:path'

import {parseReplica} from './replicas.js'

/**
 * Two replica entries that are one directory keep one copy where lnstore counts two: the same
 * path written differently (`/x/r1`, `/x/./r1`, `/x/r1/`), a symlink or bind mount to it, or one
 * replica inside another (ChironFS would write the inner one's files into the outer one too).
 * The config is checked by its text (no disk access at load), init and status by what the paths
 * are on disk: device and inode of the directory and of its parents.
 */

/** The path as written, made canonical as text: `.`/`..` resolved, no trailing slash. */
export function normalizedReplica(entry: string): string {
  const path = posix.normalize(parseReplica(entry).path)
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

/** Why the replica list names one directory twice or one inside another, by the text alone; null when it does not. */
export function replicaOverlap(entries: string[]): string | null {
  const paths = entries.map(normalizedReplica)
  for (const [index, path] of paths.entries()) {
    if (!isAbsolute(path)) return `names ${JSON.stringify(entries[index])}, which is not an absolute path`
    for (const [other, second] of paths.entries()) {
      if (other <= index) continue
      if (path === second) return `names one directory twice (${JSON.stringify(entries[index])} and ${JSON.stringify(entries[other])})`
      const [outer, inner] = second.startsWith(`${path}/`) ? [index, other] : path.startsWith(`${second}/`) ? [other, index] : [-1, -1]
      if (outer >= 0) return `names ${JSON.stringify(entries[inner])}, which is inside ${JSON.stringify(entries[outer])}`
    }
  }

  return null
}

export interface ReplicaOverlap {
  /** Replica paths as configured. */
  first: string
  second: string
  /** `same`: one directory; `inside`: `second` is inside `first`. */
  kind: 'same' | 'inside'
}

interface Identity {
  /** Device and inode of the directory; null when it does not exist yet. */
  self: string | null
  /** Its real path (symlinks resolved); for a path not there yet, its nearest existing parent's real path and the rest. */
  canonical: string
  /** Device and inode of every existing parent up to the root. */
  parents: Set<string>
}

const key = (info: {dev: number; ino: number}) => `${info.dev}:${info.ino}`

async function identity(path: string): Promise<Identity> {
  let existing = normalizedReplica(path)
  let rest = ''
  let real = await realpath(existing).catch(() => null)
  while (!real && existing !== dirname(existing)) {
    rest = posix.join(posix.basename(existing), rest)
    existing = dirname(existing)
    real = await realpath(existing).catch(() => null)
  }

  const base = real ?? existing
  const self = rest === '' ? await stat(base).then(key, () => null) : null
  const parents = new Set<string>()
  for (let current = rest === '' ? dirname(base) : base; ; current = dirname(current)) {
    const info = await lstat(current).catch(() => null)
    if (info) parents.add(key(info))
    if (current === dirname(current)) break
  }

  return {self, canonical: rest === '' ? base : posix.join(base, rest), parents}
}

/**
 * Replicas that are one directory or nested, on disk (device and inode, so symlinks and bind
 * mounts count too; a path not there yet by where it would be). Only give paths known to answer:
 * a stat on a dead NFS server blocks.
 */
export async function overlapsOnDisk(paths: string[]): Promise<ReplicaOverlap[]> {
  const identities = await Promise.all(paths.map(identity))
  const inside = (inner: Identity, outer: Identity) => (outer.self !== null && inner.parents.has(outer.self)) || inner.canonical.startsWith(`${outer.canonical}/`)
  const overlaps: ReplicaOverlap[] = []
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const [a, b] = [identities[i], identities[j]]
      if ((a.self !== null && a.self === b.self) || a.canonical === b.canonical) overlaps.push({first: paths[i], second: paths[j], kind: 'same'})
      else if (inside(b, a)) overlaps.push({first: paths[i], second: paths[j], kind: 'inside'})
      else if (inside(a, b)) overlaps.push({first: paths[j], second: paths[i], kind: 'inside'})
    }
  }

  return overlaps
}

export function describeOverlap(overlap: ReplicaOverlap): string {
  return overlap.kind === 'same' ? `replicas ${overlap.first} and ${overlap.second} are one directory` : `replica ${overlap.second} is inside replica ${overlap.first}`
}
