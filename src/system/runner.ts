/**
 * The one seam through which lnstore runs other programs (zpool, zfs, blkid ...). Production uses zx
 * (its quoting keeps every argument one argument); tests point it at real tools in a sandbox.
 */
export interface RunResult {
  argv: string[]
  /** Exit code; null when the process was killed (timeout or signal). */
  exitCode: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Kill the process after this many milliseconds (a hung zpool must not hang lnstore). */
  timeoutMs?: number
}

export interface Runner {
  run(argv: string[], options?: RunOptions): Promise<RunResult>
}

/** A command that failed; keeps argv, exit code and stderr and prints a pasteable command line. */
export class CommandError extends Error {
  constructor(
    readonly result: RunResult,
    message = `${commandLine(result.argv)} failed (${result.exitCode === null ? 'killed' : `exit code ${result.exitCode}`}): ${result.stderr.trim() || result.stdout.trim()}`,
  ) {
    super(message)
    this.name = 'CommandError'
  }
}

/** Shell-quotes argv so an operator can paste it. */
export function commandLine(argv: string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ')
}

export const zxRunner: Runner = {
  async run(argv, options = {}) {
    // Imported here so that commands which never run a program do not pay for loading zx.
    const {$} = await import('zx/core')
    const output = await $({nothrow: true, quiet: true, timeout: options.timeoutMs})`${argv}`
    if (output.exitCode === null && output.signal === null) {
      // Neither an exit nor a kill: the process never started (no shell or binary to run).
      return {argv, exitCode: 127, stdout: '', stderr: `could not start ${argv[0]}: ${output.message.split('\n')[0]}`}
    }

    return {argv, exitCode: output.exitCode, stdout: output.stdout, stderr: output.stderr}
  },
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
  for (let attempt = 1; ; attempt++) {
    const result = await runner.run(argv, options)
    if (result.exitCode === 0) return result
    if (!options.retryWhileBusy || !/\bbusy\b/i.test(result.stderr) || attempt >= BUSY_RETRIES) throw new CommandError(result)
    await new Promise((resolve) => setTimeout(resolve, BUSY_PAUSE_MS))
  }
}
