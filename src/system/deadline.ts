import {spawn} from 'node:child_process'

export interface DeadlineResult {
  /** The process's exit code; null when it was killed or did not end in time. */
  exitCode: number | null
  stdout: string
  stderr: string
  /** It did not end within the time given (it may never: a process blocked on a dead NFS server cannot be killed). */
  timedOut: boolean
}

/**
 * Runs argv and answers by `timeoutMs` at the latest, whether or not the process has ended. A
 * process stuck in the kernel (a `stat` on a hard NFS mount whose server is gone) ignores even
 * SIGKILL until the kernel lets go: it is sent SIGKILL and left behind, detached, so that it can
 * never hold lnstore up. The runner (zx) waits for the process to close, which is right for
 * everything else.
 */
export function runWithDeadline(argv: string[], timeoutMs: number): Promise<DeadlineResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      child.stdout.destroy()
      child.stderr.destroy()
      child.unref()
      resolve({exitCode: null, stdout, stderr, timedOut: true})
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({exitCode: 127, stdout, stderr: error.message, timedOut: false})
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({exitCode: code, stdout, stderr, timedOut: false})
    })
  })
}
