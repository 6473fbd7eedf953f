import {readdir, realpath} from 'node:fs/promises'
import {join} from 'node:path'

import type {ChironfsConfig} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {controlEntryFor, parseChironctl, parseStatusFile, type ControlReplica} from './control.js'
import {parseChironLog, type LogReading} from './log.js'
import {chironctlFor} from './mount.js'
import type {Replica} from './replicas.js'

/** ChironFS's own view of each replica: its control interface (either release) and its log. */
export interface ChironfsView {
  /** Per replica, in config order; null where the control interface could not be read. */
  control: (ControlReplica | null)[] | null
  /** Why the control interface could not be read. */
  controlError?: string
  log: LogReading | null
  logError?: string
}

const CONTROL_TIMEOUT_MS = 5000

/**
 * Reads the control interface and the log. `resolved` are the replica paths as ChironFS logs them
 * (real paths), for the reachable replicas; the others keep their configured path.
 */
export async function observeChironfs(deps: Deps, config: ChironfsConfig, replicas: Replica[], resolved: string[]): Promise<ChironfsView> {
  const view: ChironfsView = {control: null, log: null}
  try {
    const entries = config.controlDir ? await readControlDir(deps, config.controlDir) : await readControlSocket(deps, config)
    view.control = replicas.map((replica, index) => controlEntryFor(entries, resolved[index], index) ?? controlEntryFor(entries, replica.path, index) ?? null)
  } catch (error) {
    view.controlError = (error as Error).message
  }

  try {
    view.log = parseChironLog(await deps.readFile(config.log), resolved)
  } catch (error) {
    view.logError = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${config.log} does not exist` : (error as Error).message
  }

  return view
}

async function readControlSocket(deps: Deps, config: ChironfsConfig): Promise<ControlReplica[]> {
  const argv = [chironctlFor(config.binary), config.controlSocket]
  const result = await deps.runner.run(argv, {timeoutMs: CONTROL_TIMEOUT_MS})
  if (result.exitCode !== 0) throw new Error(`${commandLine(argv)} failed: ${(result.stderr || result.stdout).trim() || `exit code ${result.exitCode}`}`)
  const entries = parseChironctl(result.stdout)
  if (entries.length === 0) throw new Error(`${commandLine(argv)} printed no replicas`)
  return entries
}

/** The original 1.1 control filesystem: one directory per replica, each with a `status` file. */
async function readControlDir(deps: Deps, dir: string): Promise<ControlReplica[]> {
  const entries: ControlReplica[] = []
  for (const name of (await readdir(dir)).sort()) {
    const entry = parseStatusFile(name, await deps.readFile(join(dir, name, 'status')).catch(() => ''))
    if (entry) entries.push(entry)
  }

  if (entries.length === 0) throw new Error(`${dir} holds no replica status files: is ChironFS 1.1's control filesystem mounted there?`)
  return entries
}

/** The replica's real path, as ChironFS resolves and logs it; only asked of replicas that answered the probe (realpath can block on a dead NFS server). */
export async function resolvedPath(path: string, reachable: boolean): Promise<string> {
  return reachable ? realpath(path).catch(() => path) : path
}
