import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {ConfigError, validateConfig, type Config} from './schema.js'

export const DEFAULT_CONFIG_PATHS = ['/etc/lnstore/config.yaml', '/etc/lnstore/config.yml', '/etc/lnstore/config.json']

export interface LoadedConfig {
  config: Config
  /** The file it came from; null when none exists and the defaults apply. */
  source: string | null
}

/**
 * Loads the config from `path` (the `--config` flag or LNSTORE_CONFIG), or else the first default
 * location that exists. A path that was asked for must exist, unless `missingOk` (init, which
 * writes it); the default locations need not.
 */
export async function loadConfig(path: string | undefined, options: {missingOk?: boolean} = {}): Promise<LoadedConfig> {
  for (const candidate of path ? [path] : DEFAULT_CONFIG_PATHS) {
    let text: string
    try {
      // Read synchronously: a small local file, and the first asynchronous read of a run starts
      // libuv's thread pool, which `status --input` otherwise never needs (~1 ms of CPU).
      text = readFileSync(candidate, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && (!path || options.missingOk)) continue
      throw new ConfigError(`cannot read the config file ${candidate}: ${code === 'ENOENT' ? 'it does not exist' : (error as Error).message}`)
    }

    return {config: validateConfig(await parseConfigText(text, candidate), candidate), source: candidate}
  }

  return {config: validateConfig({}, 'defaults'), source: null}
}

async function parseConfigText(text: string, path: string): Promise<unknown> {
  try {
    if (path.endsWith('.json')) return JSON.parse(text)
    // Only YAML files pay for loading the YAML parser.
    const {parse} = await import('yaml')
    return parse(text)
  } catch (error) {
    throw new ConfigError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** lnstore's state directory: config, then LNSTORE_STATE_DIR, then /var/lib/lnstore for root or a per-user directory. */
export function resolveStateDir(config: Config, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (config.stateDir) return config.stateDir
  if (env.LNSTORE_STATE_DIR) return env.LNSTORE_STATE_DIR
  if (uid === 0) return '/var/lib/lnstore'
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'lnstore')
}
