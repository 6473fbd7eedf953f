import {spawn, spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
  /** stderr with oclif's line wrapping (`\n ›   `) undone, for matching whole messages. */
  errors: string
  json<T = any>(): T
}

/** Runs the built CLI as a user would, in a child process. */
export function lnstore(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string; as?: {uid: number; gid: number}} = {}): CliRun {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...options.env},
    input: options.input,
    ...options.as,
  })
  return cliRun(result.status, result.stdout, result.stderr)
}

/** The same without blocking this process, for tests that serve the CLI something in-process (an SMTP server). */
export async function lnstoreAsync(args: string[], options: {env?: NodeJS.ProcessEnv} = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return cliRun(status, stdout, stderr)
}

export function cliRun(status: number | null, stdout: string, stderr: string): CliRun {
  return {
    status,
    stdout,
    stderr,
    errors: stderr.replace(/\s*\n ›\s+/g, ' '),
    json() {
      return JSON.parse(stdout)
    },
  }
}
