import {access, mkdir, readFile, rm, rmdir} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import {writeFileAtomically} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {systemdRuns, unitName} from '../system/systemd.js'
import {loadTemplate, renderTemplate} from '../system/templates.js'

export const DROP_IN_NAME = 'lnstore-preflight.conf'

export interface DropInPlan {
  path: string
  content: string
  /** What is there now: the same content (nothing to do), other content, or nothing. */
  current: 'same' | 'different' | 'absent'
}

/**
 * The systemd drop-in that makes `lnstore preflight` the node unit's start condition, and
 * `lnstore preflight record` its stop's last word. `lnstore`: the argv that runs this lnstore;
 * every path is made absolute (systemd runs the command from /, where a relative one names nothing).
 */
export async function planDropIn(options: {systemdDir: string; unit: string; lnstore: string[]; config: string | null}): Promise<DropInPlan> {
  const unit = unitName(options.unit)
  const path = join(options.systemdDir, `${unit}.d`, DROP_IN_NAME)
  const config = options.config ? ['--config', resolve(options.config)] : []
  const command = (subcommand: string) => commandLine([...options.lnstore.map((part) => resolve(part)), 'preflight', ...(subcommand ? [subcommand] : []), ...config])
  const content = renderTemplate(await loadTemplate('systemd/lnstore-preflight.conf'), {unit, command: command(''), recordCommand: command('record')})
  const existing = await readFile(path, 'utf8').catch(() => null)
  return {path, content, current: existing === null ? 'absent' : existing === content ? 'same' : 'different'}
}

export async function writeDropIn(deps: Deps, plan: DropInPlan): Promise<string[]> {
  await mkdir(dirname(plan.path), {recursive: true})
  await writeFileAtomically(plan.path, plan.content)
  return reloadSystemd(deps)
}

export async function removeDropIn(deps: Deps, path: string): Promise<string[]> {
  await rm(path, {force: true})
  await rmdir(dirname(path)).catch(() => {}) // only when lnstore's file was the last one there
  return reloadSystemd(deps)
}

/** Where systemd looks for a unit's file; `systemDir` (--systemd-dir) first. */
const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system']

/** Whether systemd knows the unit: a running systemd says so (`systemctl cat`), else its file is in one of systemd's folders. */
export async function unitExists(deps: Deps, systemdDir: string, unit: string): Promise<boolean> {
  const name = unitName(unit)
  for (const dir of [systemdDir, ...UNIT_DIRS]) if (await access(join(dir, name)).then(() => true, () => false)) return true
  if (!(await systemdRuns())) return false
  return (await deps.runner.run(['systemctl', 'cat', '--', name], {timeoutMs: 30_000})).exitCode === 0
}

/** Tells a running systemd about the change; returns notes on what the operator must do otherwise. */
async function reloadSystemd(deps: Deps): Promise<string[]> {
  if (!(await systemdRuns())) return ['systemd is not running here: the drop-in takes effect when systemd next loads its units']
  const result = await deps.runner.run(['systemctl', 'daemon-reload'])
  return result.exitCode === 0 ? [] : [`systemctl daemon-reload failed (${result.stderr.trim()}): run it yourself`]
}
