import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {chmod, chown, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes} from 'node:fs/promises'
import {join} from 'node:path'

/**
 * Copies the node's data directory onto the new dataset, keeping owners, modes, symlinks and
 * timestamps, then proves the copy file by file. Sockets are not copied: they are endpoints of a
 * running program (lightningd recreates `lightning-rpc` when it starts), not data.
 */

export interface TreeEntry {
  path: string
  type: 'dir' | 'file' | 'symlink' | 'socket' | 'other'
  mode: number
  uid: number
  gid: number
  /** Whole seconds: zfs-fuse keeps no finer times, and no program reading the data cares. */
  mtime: number
  size: number
  /** sha256 of a file's content; a symlink's target. */
  content?: string
}

export interface CopyReport {
  files: number
  bytes: number
  /** Entries deliberately not copied, with the reason. */
  skipped: {path: string; reason: string}[]
}

export async function copyTree(source: string, target: string, onFile?: (path: string) => void, skip: (name: string) => boolean = () => false): Promise<CopyReport> {
  const report: CopyReport = {files: 0, bytes: 0, skipped: []}
  const directories: {path: string; mode: number; uid: number; gid: number; atime: Date; mtime: Date}[] = []

  const visit = async (relative: string) => {
    const from = join(source, relative)
    const to = join(target, relative)
    const info = await lstat(from)
    if (info.isDirectory()) {
      await mkdir(to, {recursive: true})
      directories.push({path: to, mode: info.mode, uid: info.uid, gid: info.gid, atime: info.atime, mtime: info.mtime})
      for (const name of (await readdir(from)).sort()) if (!skip(name)) await visit(join(relative, name))
      return
    }

    // A second run (resume) copies over what the first left.
    await rm(to, {force: true})
    if (info.isSymbolicLink()) {
      await symlink(await readlink(from), to)
      await lchown(to, info.uid, info.gid)
      await lutimes(to, info.atime, info.mtime)
    } else if (info.isFile()) {
      onFile?.(relative)
      await copyFile(from, to)
      await chown(to, info.uid, info.gid)
      await chmod(to, info.mode & 0o7777)
      await utimes(to, info.atime, info.mtime)
      report.files++
      report.bytes += info.size
    } else {
      report.skipped.push({path: relative, reason: info.isSocket() ? 'a socket: the program that listens on it recreates it' : 'not a regular file, directory or symlink'})
    }
  }

  await visit('')
  // Directories last, deepest first: writing into a directory changes its mtime.
  for (const directory of directories.reverse()) {
    await chown(directory.path, directory.uid, directory.gid)
    await chmod(directory.path, directory.mode & 0o7777)
    await utimes(directory.path, directory.atime, directory.mtime)
  }

  return report
}

/**
 * Makes `target` an exact copy of `source`: removes what `source` does not have (or has as another
 * type), then copies everything over it as copyTree does. `keep` names entries never touched in
 * the target (lnstore's probe files, a filesystem's lost+found). Safe to run again after an interruption.
 */
export async function mirrorTree(source: string, target: string, keep: (name: string) => boolean = () => false): Promise<CopyReport> {
  const prune = async (relative: string) => {
    for (const name of await readdir(join(target, relative))) {
      if (keep(name)) continue
      const path = join(relative, name)
      const [original, copy] = await Promise.all([lstat(join(source, path)).catch(() => null), lstat(join(target, path))])
      if (!original || original.isDirectory() !== copy.isDirectory() || (original.isSymbolicLink() && !copy.isSymbolicLink())) await rm(join(target, path), {recursive: true, force: true})
      else if (copy.isDirectory()) await prune(path)
    }
  }

  await mkdir(target, {recursive: true})
  await prune('')
  return copyTree(source, target, undefined, keep)
}

/**
 * Every entry under `root` with its metadata and content hash, sorted by path. `hash: false` skips
 * reading file contents (a quick look: metadata only); `skip` leaves out entries by name.
 */
export async function describeTree(root: string, options: {hash?: boolean; skip?: (name: string) => boolean} = {}): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = []
  const visit = async (relative: string) => {
    const path = join(root, relative)
    const info = await lstat(path)
    const type = info.isDirectory() ? 'dir' : info.isFile() ? 'file' : info.isSymbolicLink() ? 'symlink' : info.isSocket() ? 'socket' : 'other'
    const entry: TreeEntry = {path: relative, type, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtime: Math.floor(info.mtimeMs / 1000), size: info.size}
    if (type === 'file' && options.hash !== false) entry.content = await sha256(path)
    if (type === 'symlink') entry.content = await readlink(path)
    entries.push(entry)
    if (type === 'dir') for (const name of (await readdir(path)).sort()) if (!options.skip?.(name)) await visit(join(relative, name))
  }

  await visit('')
  return entries
}

/** Differences between two trees, in words; empty when the copy is faithful. Sockets are expected to be missing. */
export function compareTrees(source: TreeEntry[], copy: TreeEntry[]): string[] {
  const copied = new Map(copy.map((entry) => [entry.path, entry]))
  const differences: string[] = []
  for (const original of source) {
    if (original.type === 'socket' || original.type === 'other') continue
    const twin = copied.get(original.path)
    const name = original.path || '(the directory itself)'
    if (!twin) {
      differences.push(`${name}: missing from the copy`)
      continue
    }

    for (const field of ['type', 'mode', 'uid', 'gid', 'content'] as const) {
      if (original[field] !== twin[field]) differences.push(`${name}: ${field} differs (${original[field]} vs ${twin[field]})`)
    }

    // Directory and symlink times are kept too, but only file times matter to a program reading them.
    if (original.type === 'file' && original.mtime !== twin.mtime) differences.push(`${name}: modification time differs`)
  }

  return differences
}

export function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject)
  })
}
