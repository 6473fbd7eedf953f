/**
 * Real ChironFS replicas for integration tests: replica directories (each on its own tmpfs when a
 * test needs separate filesystems), real SQLite node databases, and the real `chironfs` binary.
 * ChironFS is not packaged in Debian 12: the binaries built for the project live in
 * `../shared/prebuilt/chironfs/` beside the project root (read-only on the CI machine too).
 * LNSTORE_CHIRONFS_BIN overrides it (a relative path is taken from the project root). A missing
 * binary fails the tests that need it (`requireChironfs`): they never pass unrun.
 */
import Database from 'better-sqlite3'
import {execFileSync, spawnSync} from 'node:child_process'
import {accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {mountCommand} from '../../src/chironfs/mount.js'
import {parseReplica} from '../../src/chironfs/replicas.js'

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DEFAULT_BIN = '../shared/prebuilt/chironfs/chironfs'

/** Where the tests take chironfs from (absolute), whether or not it is there. */
export const CHIRONFS_BIN = resolve(PROJECT_ROOT, process.env.LNSTORE_CHIRONFS_BIN || DEFAULT_BIN)

/** Why the real chironfs cannot run here, or null when it can (the binary, chironctl beside it, FUSE). */
export function chironfsProblem(): string | null {
  try {
    accessSync(CHIRONFS_BIN, constants.X_OK)
  } catch {
    return `${CHIRONFS_BIN} is missing or not executable`
  }

  if (!existsSync(join(dirname(CHIRONFS_BIN), 'chironctl'))) return `chironctl is missing beside ${CHIRONFS_BIN}`
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (modprobe fuse)'
  if (spawnSync('fusermount', ['-V']).error) return 'fusermount is not installed (apt-get install fuse libfuse2)'
  return null
}

/**
 * For a `before` hook of tests that mount ChironFS: fails them, with what is missing and how to
 * get it, when the real chironfs cannot run.
 */
export function requireChironfs(): void {
  const problem = chironfsProblem()
  if (problem) {
    throw new Error(`the real ChironFS is needed and cannot run: ${problem}. scripts/test.sh installs fuse and libfuse2; the binaries are ../shared/prebuilt/chironfs/ beside the project (or set LNSTORE_CHIRONFS_BIN)`)
  }
}

export function sh(command: string, args: string[]): string {
  return execFileSync(command, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}

export class ChironSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'lnstore-chironfs-'))
  private tmpfs: string[] = []
  private fuse: string[] = []
  private immutable: string[] = []

  /** A replica directory; with `ownFilesystem` a small tmpfs is mounted there, so it is not on the same filesystem as the others. */
  replica(name: string, options: {ownFilesystem?: boolean} = {}): string {
    const path = join(this.dir, name)
    mkdirSync(path, {recursive: true})
    if (options.ownFilesystem) {
      sh('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'lnstore-test', path])
      this.tmpfs.push(path)
    }

    return path
  }

  /** A node database (`bitcoin/lightningd.sqlite3`) in `dataDir` at this data_version, with some channel rows. */
  database(dataDir: string, dataVersion: number, rows = 50): string {
    mkdirSync(join(dataDir, 'bitcoin'), {recursive: true})
    const path = join(dataDir, 'bitcoin', 'lightningd.sqlite3')
    const db = new Database(path)
    db.exec(`CREATE TABLE IF NOT EXISTS vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER);
             CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, state BLOB);`)
    db.prepare("INSERT OR REPLACE INTO vars VALUES ('data_version', NULL, ?)").run(dataVersion)
    const insert = db.prepare('INSERT OR REPLACE INTO channels VALUES (?, ?)')
    for (let id = 0; id < rows; id++) insert.run(id, Buffer.alloc(200, (id * 7 + dataVersion) % 256))
    db.close()
    return path
  }

  /** An lnstore config in mode chironfs for these replicas, with its state directory; returns its path. */
  config(name: string, dataDir: string, replicas: string[], extra: Record<string, unknown> = {}): string {
    const {chironfs, ...rest} = extra as {chironfs?: object}
    const config = {
      mode: 'chironfs',
      dataDir,
      stateDir: join(this.dir, `${name}-state`),
      chironfs: {replicas, controlSocket: join(this.dir, `${name}.sock`), log: join(this.dir, `${name}.log`), binary: CHIRONFS_BIN, settleSeconds: 1, probeTimeoutSeconds: 5, ...chironfs},
      ...rest,
    }
    const file = join(this.dir, `${name}.json`)
    writeFileSync(file, JSON.stringify(config))
    return file
  }

  /** Mounts ChironFS over the replicas at `mountpoint` with lnstore's own command line. */
  mount(mountpoint: string, replicas: string[], socket: string, log: string): void {
    mkdirSync(mountpoint, {recursive: true})
    const [program, ...args] = mountCommand({binary: CHIRONFS_BIN, replicas: replicas.map(parseReplica), mountpoint, controlSocket: socket, log})
    sh(program, args)
    this.fuse.push(mountpoint)
  }

  isMounted(mountpoint: string): boolean {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === mountpoint)
  }

  /** `chattr +i`: nothing can be created or removed in the directory (a write fault ChironFS sees). */
  makeImmutable(path: string): void {
    sh('chattr', ['+i', path])
    this.immutable.push(path)
  }

  makeMutable(path: string): void {
    sh('chattr', ['-i', path])
    this.immutable = this.immutable.filter((entry) => entry !== path)
  }

  cleanup(): void {
    for (const path of this.immutable) spawnSync('chattr', ['-i', path])
    // Also what lnstore itself mounted here (heal, init).
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((line) => line.split(' ')[4]).filter((point) => point?.startsWith(`${this.dir}/`))
    for (const mountpoint of [...new Set([...this.fuse, ...mounted.filter((point) => !this.tmpfs.includes(point))])].reverse()) spawnSync('fusermount', ['-u', '-z', mountpoint])
    for (const path of this.tmpfs.reverse()) spawnSync('umount', ['-l', path])
    rmSync(this.dir, {recursive: true, force: true})
  }
}
