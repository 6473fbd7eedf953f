import {closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'

/** The state file exists but is not valid JSON (a disk error, or someone edited it). */
export class CorruptStateError extends Error {
  constructor(readonly path: string, cause: Error) {
    super(`${path} is not valid JSON (${cause.message})`)
    this.name = 'CorruptStateError'
  }
}

const LOCK_WAIT_MS = 10_000

/**
 * Read and written with node:fs's synchronous calls: state files are small and local (the state
 * directory), and each call through node:fs/promises costs a file handle, a thread-pool round trip
 * and a promise: ~20 such calls per start gate, ~3 ms of its CPU.
 *
 * lnstore runs as root and its state holds paths and mail history: files are root's alone (0600,
 * directories 0700), and no open follows a symlink, so a link planted where others can write
 * never makes root read or write another file.
 */
const PRIVATE_FILE = 0o600
const PRIVATE_DIRECTORY = 0o700
const NO_FOLLOW = constants.O_NOFOLLOW

/** A state file (or its directory) is a symlink lnstore will not follow. */
export class PlantedLinkError extends Error {
  constructor(readonly path: string) {
    super(`${path} is a symbolic link; lnstore does not follow links in its state (one may have been planted there): remove it, find out who put it there, then run again`)
    this.name = 'PlantedLinkError'
  }
}

/** Reads a JSON state file; `fallback` when it does not exist yet. */
export async function readJsonFile<T>(path: string, fallback: T): Promise<T> {
  let text: string
  try {
    text = await readPrivateFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw error
  }

  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new CorruptStateError(path, error as Error)
  }
}

/**
 * Read-modify-write of a JSON file that survives concurrent runs (cron and a manual run at once:
 * an exclusive lock file) and a crash mid-write (write a temporary file, fsync, rename over the old).
 */
export async function updateJsonFile<T>(path: string, fallback: T, update: (current: T) => T): Promise<T> {
  mkdirSync(dirname(path), {recursive: true, mode: PRIVATE_DIRECTORY})
  const release = await lock(`${path}.lock`)
  try {
    const current = await readJsonFile(path, fallback)
    const next = update(current)
    // An update that changes nothing in a file that exists (the start gate seeing the data_version it
    // recorded before) leaves the file as it is, already written and synced: no temporary file, no
    // two fsyncs. A state directory planted as a link is refused all the same.
    if (next !== current || current === fallback) await writeJsonAtomically(path, next)
    else refusePlantedDirectory(dirname(path))
    return next
  } finally {
    await release()
  }
}

export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await writeFileAtomically(path, `${JSON.stringify(value)}\n`)
}

/**
 * Writes a whole file so that a reader sees either the old or the new content, never a mix. Mode
 * 0600 unless asked (files others must read: systemd units, the Prometheus textfile). The temporary
 * file is new (O_EXCL, O_NOFOLLOW) and the rename replaces a link at `path` instead of following it.
 */
export async function writeFileAtomically(path: string, content: string, mode = PRIVATE_FILE): Promise<void> {
  refusePlantedDirectory(dirname(path))
  // Unique beside other writers (pid) and other writes of this process; O_EXCL and O_NOFOLLOW, not the
  // name, keep it safe. Not node:crypto: loading it costs every health check ~2 ms of CPU.
  const temporary = `${path}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`
  const file = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, mode)
  try {
    // The umask may have taken bits away; the mode is what was asked for, no more and no less.
    fchmodSync(file, mode)
    writeFileSync(file, content)
    fsyncSync(file)
  } finally {
    closeSync(file)
  }

  try {
    renameSync(temporary, path)
  } catch (error) {
    try {
      unlinkSync(temporary)
    } catch {}

    throw error
  }

  const directory = openSync(dirname(path), 'r')
  try {
    fsyncSync(directory)
  } finally {
    closeSync(directory)
  }
}

async function readPrivateFile(path: string): Promise<string> {
  let file
  try {
    file = openSync(path, constants.O_RDONLY | NO_FOLLOW)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new PlantedLinkError(path)
    throw error
  }

  try {
    return readFileSync(file, 'utf8')
  } finally {
    closeSync(file)
  }
}

/**
 * The directory itself may be a link (stateDir set to one on purpose); one owned by neither root
 * nor this user was planted by someone else, and is not followed. One lstat per write.
 */
function refusePlantedDirectory(directory: string): void {
  let info
  try {
    info = lstatSync(directory)
  } catch {
    return
  }

  if (info.isSymbolicLink() && info.uid !== 0 && info.uid !== process.getuid?.()) throw new PlantedLinkError(directory)
}

/** A lock file held by another live lnstore process. */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    /** The holder's process id, when the file names one. */
    readonly holder: number | null,
    waitedMs: number,
  ) {
    super(`${path} is held by another lnstore process (pid ${holder ?? 'unknown'})${waitedMs > 0 ? ` for more than ${waitedMs / 1000} s` : ''}; if no lnstore is running, remove the file`)
    this.name = 'LockHeldError'
  }
}

/**
 * Takes an exclusive lock file holding this process's id; waits up to `waitMs` for another holder
 * (0: fail at once). A lock whose holder died is taken over. Returns the release function.
 */
export async function lock(path: string, waitMs = LOCK_WAIT_MS): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      const file = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, PRIVATE_FILE)
      try {
        writeFileSync(file, String(process.pid))
      } finally {
        closeSync(file)
      }

      return async () => {
        try {
          unlinkSync(path)
        } catch {}
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }

    const seen = lockFile(path)
    if (!seen) continue
    // The holder died (crash, SIGKILL) without releasing, or between creating the file and writing
    // its pid (then the file stays empty): such a lock protects nothing.
    const stale = seen.holder === null ? seen.ageMs > EMPTY_LOCK_STALE_MS : !isAlive(seen.holder)
    // Remove it only if it is still that file: its holder may have released it since, and another
    // process taken it (a new file, perhaps with the same inode number, but not the same pid).
    const now = stale ? lockFile(path) : null
    if (now && now.ino === seen.ino && now.holder === seen.holder) {
      try {
        unlinkSync(path)
      } catch {}

      continue
    }

    if (Date.now() >= deadline) throw new LockHeldError(path, seen.holder, waitMs)
    await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50))
  }
}

/** A lock file with no pid that is this old was left by a holder killed while taking it. */
const EMPTY_LOCK_STALE_MS = 2000

/** The lock file as it is now (which file, whose pid, how old), read without yielding; null when it is gone. */
function lockFile(path: string): {ino: number; holder: number | null; ageMs: number} | null {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | NO_FOLLOW)
  } catch {
    return null
  }

  try {
    const info = fstatSync(fd)
    const holder = Number.parseInt(readFileSync(fd, 'utf8'), 10)
    return {ino: info.ino, holder: Number.isInteger(holder) && holder > 0 ? holder : null, ageMs: Date.now() - info.mtimeMs}
  } finally {
    closeSync(fd)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
