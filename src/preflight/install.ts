import {access, mkdir, readFile, rm, rmdir} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {writeFileAtomically} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {loadTemplate, renderTemplate} from '../system/templates.js'

export const DROP_IN_NAME = 'lnstore-preflight.conf'

export interface DropInPlan {
  path: string
  content: string
  /** What is there now: the same content (nothing to do), other content, or nothing. */
  current: 'same' | 'different' | 'absent'
}

/** The systemd drop-in that makes `lnstore preflight` the node unit's start condition. */
export async function planDropIn(options: {systemdDir: string; unit: string; command: string[]}): Promise<DropInPlan> {
  const unit = options.unit.includes('.') ? options.unit : `${options.unit}.service`
  const path = join(options.systemdDir, `${unit}.d`, DROP_IN_NAME)
  const content = renderTemplate(await loadTemplate('systemd/lnstore-preflight.conf'), {unit, command: commandLine(options.command)})
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

/** Tells a running systemd about the change; returns notes on what the operator must do otherwise. */
async function reloadSystemd(deps: Deps): Promise<string[]> {
  const running = await access('/run/systemd/system').then(() => true, () => false)
  if (!running) return ['systemd is not running here: the drop-in takes effect when systemd next loads its units']
  const result = await deps.runner.run(['systemctl', 'daemon-reload'])
  return result.exitCode === 0 ? [] : [`systemctl daemon-reload failed (${result.stderr.trim()}): run it yourself`]
}
