import type {ChildProcess} from 'node:child_process'
import {closeSync, constants, fstatSync, openSync, readSync, unlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'

/**
 * The one seam through which lnstore runs other programs (zpool, zfs, systemctl ...). It spawns
 * the program itself, without a shell (every argument stays one argument, and no `bash -c` per
 * call), and bounds every call: at the deadline the process is sent SIGKILL and the call answers
 * at once, even when the process cannot die yet (a zpool stuck in the kernel on a suspended pool,
 * a `stat` on a dead NFS server). Tests point it at real tools in a sandbox or at a stub.
 */
export interface RunResult {
  argv: string[]
  /** Exit code; null when the process was killed (at the deadline, or by a signal from elsewhere). */
  exitCode: number | null
  stdout: string
  stderr: string
  /** It did not end by its deadline: it was sent SIGKILL and left behind. */
  timedOut?: boolean
  /** The signal that ended it, when one did. */
  signal?: NodeJS.Signals
}

export interface RunOptions {
  /** The call answers after this many milliseconds at the latest. Default: see `defaultTimeoutMs`. */
  timeoutMs?: number
  /** Written to the program's standard input (which is otherwise empty). */
  input?: string
}

export interface Runner {
  run(argv: string[], options?: RunOptions): Promise<RunResult>
}

/**
 * zpool and zfs reads answer in well under a second when the pool is well; a suspended pool or a
 * hung device blocks them in the kernel for ever. A minute is longer than any healthy read and short
 * enough that a health check run every few minutes, the monitor and the start gate (systemd's start
 * timeout is 90 s) still answer. Changes (create, replace, destroy ...) may take longer on big disks:
 * they get the general bound.
 */
export const ZFS_TIMEOUT_MS = 60_000
const ZFS_READS = new Set(['status', 'list', 'get', 'history', 'version', 'iostat', 'events'])
/** Everything else: nothing lnstore runs may hold it up for ever; callers that know better pass their own. */
export const DEFAULT_TIMEOUT_MS = 10 * 60_000

export function defaultTimeoutMs(argv: string[]): number {
  const program = basename(argv[0] ?? '')
  return (program === 'zpool' || program === 'zfs') && ZFS_READS.has(argv[1]) ? ZFS_TIMEOUT_MS : DEFAULT_TIMEOUT_MS
}

/** A command that failed; keeps argv, exit code and stderr and prints a pasteable command line. */
export class CommandError extends Error {
  constructor(
    readonly result: RunResult,
    message = `${commandLine(result.argv)} failed (${describeEnd(result)}): ${result.stderr.trim() || result.stdout.trim()}`,
  ) {
    super(message)
    this.name = 'CommandError'
  }
}

/** How a run ended, in words: "exit code 2", "killed by SIGTERM", "no answer within 60 s; killed". */
export function describeEnd(result: Pick<RunResult, 'exitCode' | 'signal' | 'timedOut'>, timeoutMs?: number): string {
  if (result.timedOut) return `no answer${timeoutMs === undefined ? ' in time' : ` within ${timeoutMs / 1000} s`}; killed`
  if (result.exitCode === null) return result.signal ? `killed by ${result.signal}` : 'killed'
  return `exit code ${result.exitCode}`
}

/** Shell-quotes argv so an operator can paste it. */
export function commandLine(argv: string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ')
}

export const processRunner: Runner = {
  async run(argv, options = {}) {
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs(argv)
    // Loaded at the first call: `status --input` runs nothing, and child_process (with net, dgram
    // and streams) costs its start ~3 ms of CPU.
    const {spawn} = await import('node:child_process')
    const files = outputFiles()
    return new Promise((resolve) => {
      let stdout = ''
      let stderr = ''
      let settled = false
      const settle = (end: Omit<RunResult, 'argv' | 'stdout' | 'stderr'>, note = '') => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        const output = files ? files.take() : {stdout, stderr}
        resolve({argv, stdout: output.stdout, stderr: `${output.stderr}${note}`, ...end})
      }

      // Its own process group, so that the deadline kills whatever it started too (a wrapper
      // script's children would otherwise live on, and keep the output pipes open where pipes are used).
      const input = options.input === undefined ? 'ignore' : 'pipe'
      let child: ChildProcess
      try {
        child = spawn(argv[0], argv.slice(1), {stdio: files ? [input, files.stdout, files.stderr] : [input, 'pipe', 'pipe'], detached: true})
      } catch (error) {
        // Thrown, not emitted (no process or descriptor left, say): the call fails as before, and the files are closed.
        files?.take()
        throw error
      }

      const {stdout: out, stderr: err} = child
      out?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
      err?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
      if (child.stdin) {
        // A program that exits without reading its input closes the pipe: not lnstore's failure.
        child.stdin.on('error', () => {})
        child.stdin.end(options.input)
      }

      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }

        // A process blocked in the kernel ignores even SIGKILL until the kernel lets go: answer
        // now, and leave it behind without anything of lnstore's waiting on it.
        out?.destroy()
        err?.destroy()
        child.stdin?.destroy()
        child.unref()
        settle({exitCode: null, signal: 'SIGKILL', timedOut: true})
      }, timeoutMs)

      child.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code === 'ENOENT' ? 127 : 126
        const why = error.code === 'ENOENT' ? 'not found (is it installed and on PATH?)' : error.message
        settle({exitCode: code}, `could not start ${argv[0]}: ${why}`)
      })
      // With the output in files, 'close' comes with the exit: what the program wrote is all there.
      child.on('close', (exitCode, signal) => settle(signal ? {exitCode: null, signal} : {exitCode}))
    })
  },
}

/**
 * Where a program's output goes: a temporary file each for stdout and stderr, unlinked as soon as
 * it is made (only the two descriptors know it), read whole when the program has exited. Pipes cost
 * every run that starts a program ~3-4 ms of CPU (start gate 67.9 -> 64.1 ms, means of 40
 * alternating runs): two net.Socket streams with their reads and decoding, Node's own net and
 * stream code compiled anew at each start, which no cache of lnstore's can hold. Null where no file
 * can be made (a read-only /tmp in someone's service sandbox): then pipes, as before.
 */
function outputFiles(): {stdout: number; stderr: number; take(): {stdout: string; stderr: string}} | null {
  const stdout = temporaryFile()
  const stderr = stdout === null ? null : temporaryFile()
  if (stdout === null || stderr === null) {
    if (stdout !== null) closeSync(stdout)
    return null
  }

  return {
    stdout,
    stderr,
    take() {
      const output = {stdout: readWhole(stdout), stderr: readWhole(stderr)}
      closeSync(stdout)
      closeSync(stderr)
      return output
    },
  }
}

let temporaryFiles = 0

/**
 * A new file only this process can read, already unlinked. O_EXCL and O_NOFOLLOW refuse a name
 * someone planted in the shared /tmp (the name needs no strong randomness: a taken one is skipped).
 */
function temporaryFile(): number | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    const path = join(tmpdir(), `lnstore-output-${process.pid}-${++temporaryFiles}-${Math.random().toString(36).slice(2, 10)}`)
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
      return null
    }

    try {
      unlinkSync(path)
    } catch {
      closeSync(fd)
      return null
    }

    return fd
  }

  return null
}

/** The file from its start: the program's writes moved the offset it shares with this descriptor. */
function readWhole(fd: number): string {
  const buffer = Buffer.allocUnsafe(fstatSync(fd).size)
  let length = 0
  while (length < buffer.length) {
    const read = readSync(fd, buffer, length, buffer.length - length, length)
    if (read === 0) break
    length += read
  }

  return buffer.toString('utf8', 0, length)
}

export interface RunCheckedOptions extends RunOptions {
  /**
   * Try again for up to 10 s while the command says "busy": mounting, unmounting and destroying
   * fail so while the kernel still holds a file of a process that just died (a killed earlier
   * run, say), and zfs-fuse says so for a moment after a scan. Only for commands safe to repeat.
   */
  retryWhileBusy?: boolean
}

const BUSY_RETRIES = 10
const BUSY_PAUSE_MS = 1000

/** Runs argv and returns its result; a non-zero exit becomes a CommandError with the command line and stderr. */
export async function runChecked(runner: Runner, argv: string[], options: RunCheckedOptions = {}): Promise<RunResult> {
  const {retryWhileBusy, ...runOptions} = options
  for (let attempt = 1; ; attempt++) {
    const result = await runner.run(argv, runOptions)
    if (result.exitCode === 0) return result
    if (!retryWhileBusy || !/\bbusy\b/i.test(result.stderr) || attempt >= BUSY_RETRIES) throw new CommandError(result)
    await new Promise((resolve) => setTimeout(resolve, BUSY_PAUSE_MS))
  }
}
