import {writeSync} from 'node:fs'
import {createRequire} from 'node:module'
import {format, inspect} from 'node:util'

import {real as errors} from './errors.js'

/**
 * Stands in for `@oclif/core/command` in the fast entry's bundle: the few methods lnstore's hot
 * commands use, with oclif's behaviour (src/cli/fast.ts hands everything else to oclif itself).
 * The flags arrive parsed; failures go through the real oclif `catch`, loaded then.
 */
export interface LiteConfig {
  bin: string
  scopedEnvVar(name: string): string | undefined
}

const require = createRequire(import.meta.url)

export abstract class Command {
  static enableJsonFlag = false
  static baseFlags = {}
  static flags = {}
  id?: string
  /** Set by the fast entry before `_run`. */
  parsedFlags: Record<string, unknown> = {}

  constructor(
    public argv: string[],
    public config: LiteConfig,
  ) {}

  abstract run(): Promise<unknown>

  /** What oclif's `_run` does around `run`: errors to `catch`, the result as JSON under --json. */
  async _run(): Promise<unknown> {
    let result: unknown
    try {
      result = await this.run()
    } catch (error) {
      await this.catch(error as Error)
    }

    if (result && this.jsonEnabled()) this.logJson(this.toSuccessJson(result))
    return result
  }

  protected async parse(_command?: unknown): Promise<{flags: any; args: Record<string, never>; argv: string[]}> {
    return {flags: this.parsedFlags, args: {}, argv: []}
  }

  protected async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    const {Command: Real} = require('@oclif/core/command') as typeof import('@oclif/core/command')
    return Real.prototype['catch'].call(this as never, error as never)
  }

  jsonEnabled(): boolean {
    if (!(this.constructor as typeof Command).enableJsonFlag) return false
    return this.config.scopedEnvVar('CONTENT_TYPE')?.toLowerCase() === 'json' || this.parsedFlags.json === true
  }

  error(input: string | Error, options: {exit?: number | false} = {}): never {
    return errors().error(input, options as never) as never
  }

  warn(input: string | Error): string | Error {
    if (!this.jsonEnabled()) errors().warn(input)
    return input
  }

  log(message: unknown = '', ...args: unknown[]): void {
    if (!this.jsonEnabled()) writeStdout(format(typeof message === 'string' ? message : inspect(message), ...args))
  }

  logToStderr(message: unknown = '', ...args: unknown[]): void {
    if (!this.jsonEnabled()) console.error(format(typeof message === 'string' ? message : inspect(message), ...args))
  }

  /** oclif colours JSON only for a terminal (or FORCE_COLOR): the fast entry leaves those to oclif. */
  logJson(json: unknown): void {
    writeStdout(JSON.stringify(json, undefined, 2))
  }

  protected toSuccessJson(result: unknown): unknown {
    return result
  }

  protected toErrorJson(error: unknown): unknown {
    return error instanceof Error ? {error: {...error, message: error.message, name: error.name}} : {error}
  }
}

let throughStream = false

/**
 * A line on standard output as oclif's `console.log` writes it, without creating process.stdout:
 * that stream loads Node's streams, ~4 ms of CPU in a health check printing a few lines. A write
 * that would block (a full pipe left non-blocking by whoever made it) hands the rest to
 * process.stdout, and so does every write after it, in order. Failures are ignored, as console.log
 * ignores them (a reader gone: `lnstore status | head -1`).
 */
function writeStdout(line: string): void {
  const data = Buffer.from(`${line}\n`)
  let written = 0
  if (!throughStream) {
    try {
      while (written < data.length) written += writeSync(1, data, written)
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return
      throughStream = true
    }
  }

  process.stdout.write(data.subarray(written))
}
