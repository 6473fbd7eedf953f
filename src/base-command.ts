// Subpath imports: the package index loads all of @oclif/core, which costs start-up time.
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type * as Interfaces from '@oclif/core/interfaces'

import {loadConfig, resolveStateDir, type LoadedConfig} from './config/load.js'
import {ConfigError} from './config/schema.js'
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

  /** Exit code for any failure of this command; status uses 3 (UNKNOWN), as monitoring plugins do. */
  static failureExitCode = 1

  /** The side effects this command uses; tests may replace them. */
  deps: Deps = systemDeps

  protected async loadConfig(flags: {config?: string}): Promise<LoadedConfig & {stateDir: string}> {
    const loaded = await loadConfig(flags.config)
    return {...loaded, stateDir: resolveStateDir(loaded.config)}
  }

  protected async catch(error: Interfaces.CommandError): Promise<unknown> {
    const exit = (this.constructor as typeof BaseCommand).failureExitCode
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
  return new Errors.CLIError(error.message, {exit, suggestions: suggestion ? [suggestion] : undefined})
}
