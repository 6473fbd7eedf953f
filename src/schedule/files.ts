import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import {commandLine} from '../system/runner.js'
import {loadTemplate, renderTemplate} from '../system/templates.js'
import {storageBackend} from '../storage/load.js'
import {renderHardening} from './hardening.js'
import {delayWeekly, describeWeekly, everyCron, everyOnCalendar, stableDelayMinutes, weeklyCron, weeklyOnCalendar, type Weekly} from './calendar.js'

/**
 * The files `lnstore schedule install` writes, rendered from templates/: a systemd service and timer
 * for the weekly scrub and for the periodic health check, or one systemd service for `lnstore
 * monitor`, or one /etc/cron.d file; and, where ZED runs, a zedlet.
 */

export type ScheduleKind = 'systemd' | 'cron' | 'monitor'

export interface SchedulePaths {
  systemdDir: string
  cronDir: string
  zedDir: string
}

export interface ScheduleSpec {
  kind: ScheduleKind
  scrub: Weekly
  randomDelayMinutes: number
  checkEverySeconds: number
  /** How the units run lnstore: node and lnstore's bin/run.js, absolute. */
  command: string[]
  /** LNSTORE_CONFIG / LNSTORE_STATE_DIR when they differ from the defaults. */
  environment: Record<string, string>
  zedlet: boolean
  /** Seeds cron's fixed delay, so each machine gets its own minute. */
  host: string
  /** What the units' sandbox lets them write (the state directory; in mode chironfs the replicas). */
  stateDir: string
  config: Config
}

export interface ManagedFile {
  path: string
  content: string
  mode: number
}

const SYSTEMD_UNITS = {
  systemd: ['lnstore-scrub.service', 'lnstore-scrub.timer', 'lnstore-check.service', 'lnstore-check.timer'],
  monitor: ['lnstore-monitor.service'],
} as const

/** The units `install` enables: the timers (their services run from them) or the monitor. */
export const ENABLED_UNITS = {systemd: ['lnstore-scrub.timer', 'lnstore-check.timer'], monitor: ['lnstore-monitor.service'], cron: []} as const

const CRON_FILE = 'lnstore'
export const ZEDLET = 'all-lnstore.sh'

export async function renderFiles(spec: ScheduleSpec, paths: SchedulePaths): Promise<ManagedFile[]> {
  const files: ManagedFile[] = []
  const add = async (template: string, path: string, view: object, quote: (text: string) => string, mode = 0o644) => {
    files.push({path, mode, content: renderTemplate(await loadTemplate(template), {...view, environment: environmentLines(spec.environment, quote)})})
  }

  if (spec.kind === 'cron') {
    const scrub = scheduledScrub(spec)
    const delay = stableDelayMinutes(spec.host, spec.randomDelayMinutes)
    await add(`cron/${CRON_FILE}`, join(paths.cronDir, CRON_FILE), {
      command: commandLine(spec.command),
      scrubCron: weeklyCron(scrub),
      checkCron: everyCron(spec.checkEverySeconds).split(' ').slice(1).join(' '),
      scrubWhen: `${describeWeekly(scrub)}${delay > 0 ? ` (${delay} min after ${describeWeekly(spec.scrub)}: this machine's fixed delay)` : ''}`,
      checkWhen: `every ${spec.checkEverySeconds / 60} min`,
    }, (text) => text)
  } else {
    const view = {
      command: spec.command.map(systemdQuote).join(' '),
      scrubCalendar: weeklyOnCalendar(spec.scrub),
      checkCalendar: everyOnCalendar(spec.checkEverySeconds),
      randomDelayMinutes: spec.randomDelayMinutes,
      hardening: await renderHardening((await storageBackend(spec.config)).sandbox(spec.config, spec.stateDir), systemdQuote),
    }
    for (const unit of SYSTEMD_UNITS[spec.kind]) {
      const onCalendar = unit.startsWith('lnstore-scrub') ? view.scrubCalendar : view.checkCalendar
      await add(`systemd/${unit}`, join(paths.systemdDir, unit), {...view, onCalendar}, systemdQuote)
    }
  }

  if (spec.zedlet) await add(`zed/${ZEDLET}`, join(paths.zedDir, ZEDLET), {command: commandLine(spec.command)}, (text) => commandLine([text]), 0o755)
  return files
}

/** When the scrub is set to run: cron has no random delay, so it gets a fixed one per machine; timers randomize theirs. */
export function scheduledScrub(spec: ScheduleSpec): Weekly {
  return spec.kind === 'cron' ? delayWeekly(spec.scrub, stableDelayMinutes(spec.host, spec.randomDelayMinutes)) : spec.scrub
}

function environmentLines(environment: Record<string, string>, quote: (text: string) => string): string[] {
  return Object.entries(environment).map(([key, value]) => quote(`${key}=${value}`))
}

/** Quotes a word for a systemd unit's ExecStart= or Environment= (systemd.syntax(7)): `%` and `$` are special there. */
export function systemdQuote(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$')
  return /^[\w@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}
