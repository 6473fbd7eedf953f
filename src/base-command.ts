// Subpath imports: the package index loads all of @oclif/core, which costs start-up time.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'

import {loadConfig, resolveStateDir, type LoadedConfig} from './config/load.js'
import {ConfigError} from './config/schema.js'
import type {RunbookOutput} from './runbook/command.js'
import type {RunbookError} from './runbook/engine.js'
import {systemDeps, type Deps} from './system/deps.js'
import {StatusParseError} from './zfs/status-text.js'
import {ZpoolError} from './zfs/zpool.js'

/** Shared flags, dependency wiring, and errors that keep the promised exit codes (also under --json). */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    config: Flags.string({
      description: 'Config file (YAML or JSON). Default: the first of /etc/lnstore/config.{yaml,yml,json} that exists.',
      env: 'LNSTORE_CONFIG',
      helpGroup: 'GLOBAL',
    }),
  }

  static enableJsonFlag = true

  /**
   * When set, every failure of this command exits with it: status uses 3 (UNKNOWN), as monitoring
   * plugins do. Otherwise a failure keeps its own code (init's refusals: 2), else 1.
   */
  static failureExitCode?: number

  /** The side effects this command uses; tests may replace them. */
  deps: Deps = systemDeps

  protected async loadConfig(flags: {config?: string}, options: {missingOk?: boolean} = {}): Promise<LoadedConfig & {stateDir: string}> {
    const loaded = await loadConfig(flags.config, options)
    return {...loaded, stateDir: resolveStateDir(loaded.config)}
  }

  /** This command's output, for the runbook envelope. */
  protected runbookOutput(): RunbookOutput {
    return {json: this.jsonEnabled(), log: (text) => this.log(text), logToStderr: (line) => this.logToStderr(line), now: () => this.deps.now()}
  }

  protected async catch(error: Interfaces.CommandError): Promise<unknown> {
    const own = (error as {exitCode?: number}).exitCode ?? (error instanceof Errors.CLIError ? error.oclif.exit : undefined)
    // `-h` ends the command with oclif's ExitError (code EEXIT, exit 0): help shown is not a failure.
    // Matched by its code: the fast entry's stand-in for oclif's errors has no ExitError class.
    const exit = (error as {code?: string}).code === 'EEXIT' ? (own ?? 0) : ((this.constructor as typeof BaseCommand).failureExitCode ?? own ?? 1)
    // @oclif/core's catch takes process.exitCode as it finds it and ignores err.oclif.exit under --json.
    process.exitCode = exit
    return super.catch(toCliError(error, exit))
  }
}

/** Failures of the world (bad input, missing tools) become one clear message with the next step; bugs keep their stack. */
function toCliError(error: Interfaces.CommandError, exit: number): Interfaces.CommandError {
  if (error instanceof Errors.CLIError) return Object.assign(error, {oclif: {...error.oclif, exit}})
  if (error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError || error instanceof SyntaxError) return error
  let suggestion: string | undefined
  if (error instanceof ZpoolError) suggestion = error.nextStep
  else if (error instanceof StatusParseError) suggestion = 'Give it the output of `zpool status` (text) or `zpool status -j` (JSON), unedited.'
  else if (error instanceof ConfigError) suggestion = 'Fix the config file, then check it with `lnstore config show`.'
  else if (isRunbookError(error)) return new Errors.CLIError(error.message, {exit, suggestions: error.nextSteps})
  return new Errors.CLIError(error.message, {exit, suggestions: suggestion ? [suggestion] : undefined})
}

/** A runbook's failure or refusal, known by its next steps: the engine itself is not loaded for a plain status. */
function isRunbookError(error: Error): error is RunbookError {
  return error.name === 'RunbookError' && Array.isArray((error as RunbookError).nextSteps)
}
