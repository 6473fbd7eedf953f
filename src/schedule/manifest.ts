import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {readJsonFile} from '../state/json-file.js'
import type {Weekly} from './calendar.js'
import type {ScheduleKind} from './files.js'

/**
 * The record, in the state directory, of exactly what `schedule install` wrote (and the pool
 * properties it changed, with their previous values), so that `remove` takes back exactly that.
 */

export interface PropertyChange {
  pool: string
  property: string
  /** As `zfs get -o value,source` printed it before lnstore changed it. */
  previous: {value: string; source: string}
}

export interface ScheduleManifest {
  version: 1
  kind: ScheduleKind
  installedAt: number
  /** When the scrub runs: for cron with this machine's fixed delay; timers add a random delay of up to randomDelayMinutes. */
  scrub: Weekly
  randomDelayMinutes: number
  checkEverySeconds: number
  files: {path: string; sha256: string}[]
  /** systemd units install enabled. */
  units: string[]
  properties: PropertyChange[]
}

export function manifestPath(stateDir: string): string {
  return join(stateDir, 'schedule.json')
}

export async function readManifest(stateDir: string): Promise<ScheduleManifest | null> {
  return readJsonFile<ScheduleManifest | null>(manifestPath(stateDir), null)
}

/** Where `remove` keeps a copy of a file that was changed by hand since install, before removing it. */
export function removedCopyPath(stateDir: string, path: string): string {
  return join(stateDir, 'schedule-removed', path.split('/').pop()!)
}

export function sameInstall(previous: ScheduleManifest | null, next: ScheduleManifest): boolean {
  if (!previous) return false
  const {installedAt: _a, ...a} = previous
  const {installedAt: _b, ...b} = next
  return JSON.stringify(a) === JSON.stringify(b)
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
