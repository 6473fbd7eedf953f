import {access} from 'node:fs/promises'
import {constants} from 'node:os'

import type {Deps} from './deps.js'

/** Whether systemd runs this machine (/run/systemd/system exists, as sd_booted(3) checks): only then is systemctl worth asking. */
export async function systemdRuns(): Promise<boolean> {
  return access('/run/systemd/system').then(
    () => true,
    () => false,
  )
}

/** The unit's full name: systemd takes `lightningd` for `lightningd.service`. */
export function unitName(unit: string): string {
  return unit.includes('.') ? unit : `${unit}.service`
}

/**
 * Why a systemd unit stopped trying ("lightningd.service failed (...)"), or null while it starts,
 * runs or waits to be restarted (`Restart=`: "activating"), or when systemd cannot say.
 */
export async function unitGaveUp(deps: Deps, unit: string): Promise<string | null> {
  const result = await deps.runner.run(['systemctl', 'show', '--property=ActiveState,Result,ExecMainCode,ExecMainStatus', '--', unit], {timeoutMs: 30_000})
  if (result.exitCode !== 0) return null
  const state = Object.fromEntries(result.stdout.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
  if (state.ActiveState !== 'failed' && state.ActiveState !== 'inactive') return null
  const why: string[] = []
  if (state.Result && state.Result !== 'success') why.push(`result: ${state.Result}`)
  // ExecMainCode is waitid()'s code for the main process: 1 exited, 2 killed, 3 dumped core.
  if (state.ExecMainCode === '1') why.push(`its process exited with status ${state.ExecMainStatus}`)
  if (state.ExecMainCode === '2' || state.ExecMainCode === '3') why.push(`its process was killed by ${signalName(Number(state.ExecMainStatus))}`)
  return `${unitName(unit)} is ${state.ActiveState}${why.length > 0 ? ` (${why.join('; ')})` : ''}`
}

function signalName(number: number): string {
  const name = Object.entries(constants.signals).find(([, value]) => value === number)?.[0]
  return name ? `${name} (signal ${number})` : `signal ${number}`
}
