import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliRun {
  status: number | null
  stdout: string
  stderr: string
  /** stderr with oclif's line wrapping (`\n ›   `) undone, for matching whole messages. */
  errors: string
  json<T = any>(): T
}

/** Runs the built CLI as a user would, in a child process. */
export function lnstore(args: string[], options: {env?: NodeJS.ProcessEnv; input?: string} = {}): CliRun {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: {...process.env, NO_COLOR: '1', ...options.env},
    input: options.input,
  })
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    errors: result.stderr.replace(/\s*\n ›\s+/g, ' '),
    json() {
      return JSON.parse(result.stdout)
    },
  }
}
