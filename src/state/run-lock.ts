import {readFileSync} from 'node:fs'
import {mkdir, open, readFile, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

/**
 * The lock a runbook holds on its journal for as long as its process runs. It names the process by
 * pid *and* the start time the kernel gives it (/proc/PID/stat, field 22): a pid reused by another
 * process after a crash or reboot does not look like the run still going.
 */
export interface RunOwner {
  pid: number
  /** Clock ticks since boot at which the process started; null where /proc does not tell. */
  startTime: number | null
  /** When it took the lock, epoch milliseconds. */
  since: number
}

/** Another process holds the run: refuse rather than act on the pool twice. */
export class RunHeldError extends Error {
  constructor(
    readonly path: string,
    readonly owner: RunOwner,
  ) {
    super(`another lnstore process (pid ${owner.pid}, since ${new Date(owner.since).toISOString()}) is running this runbook now`)
    this.name = 'RunHeldError'
  }
}

/** The start time of a process from /proc/PID/stat, or null when it is gone (or /proc is not there). */
export function processStartTime(pid: number): number | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }

  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After the name: field 3 (state) is fields[0], so field 22 (starttime) is fields[19]. A zombie has exited.
  if (fields[0] === 'Z') return null
  const start = Number(fields[19])
  return Number.isFinite(start) ? start : null
}

/** Whether the owner recorded in a lock is the process that is alive now under that pid. */
export function ownerAlive(owner: RunOwner): boolean {
  const start = processStartTime(owner.pid)
  if (start === null) return false
  return owner.startTime === null || owner.startTime === start
}

/** The lock's owner as recorded, or null when there is no lock (or it is unreadable: then nobody can be proven to hold it). */
export async function readRunOwner(path: string): Promise<RunOwner | null> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as RunOwner
    return Number.isInteger(owner.pid) ? owner : null
  } catch {
    return null
  }
}

/**
 * Takes the run's lock for this process, or throws RunHeldError naming the live holder. A lock left
 * by a process that died (SIGKILL, power cut) is taken over. Returns the release function.
 */
export async function takeRunLock(path: string, now: number): Promise<() => Promise<void>> {
  await mkdir(dirname(path), {recursive: true})
  const mine: RunOwner = {pid: process.pid, startTime: processStartTime(process.pid), since: now}
  const text = JSON.stringify(mine)
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const file = await open(path, 'wx')
      await file.writeFile(text)
      await file.sync()
      await file.close()
      return async () => {
        // Only our own lock: never one another process has taken over since.
        if ((await readFile(path, 'utf8').catch(() => '')) === text) await unlink(path).catch(() => {})
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }

    const seenText = await readFile(path, 'utf8').catch(() => null)
    if (seenText === null) continue
    const owner = await readRunOwner(path)
    if (owner && ownerAlive(owner)) throw new RunHeldError(path, owner)
    // A lock whose writer died while writing it names nobody; a dead owner holds nothing.
    if (!owner && attempt < 10) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      continue
    }

    if ((await readFile(path, 'utf8').catch(() => null)) === seenText) await unlink(path).catch(() => {})
  }

  throw new Error(`could not take the run lock ${path}: it keeps changing hands`)
}
