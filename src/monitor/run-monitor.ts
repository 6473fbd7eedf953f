import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {checkAndAlert, type CheckOutcome} from '../alerts/check.js'
import type {Config} from '../config/schema.js'
import {describeWeekly, everyCron, nextWeekly, weekly, weeklyCron} from '../schedule/calendar.js'
import {formatTime} from '../alerts/compose.js'
import {storageBackend} from '../storage/load.js'
import {lock, LockHeldError} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {formatDuration} from '../storage/units.js'

/**
 * `lnstore monitor`: one long-running process instead of timers. A health check (which alerts)
 * every few minutes and the weekly scrub, scheduled with node-cron; one instance at a time (a lock
 * file with its pid); on SIGTERM/SIGINT it stops the schedules, lets a health check in flight
 * finish, stops following a scrub (ZFS goes on with it) and returns. One line per event.
 */

export interface MonitorOptions {
  config: Config
  stateDir: string
  pools: string[]
  checkEverySeconds: number
  log: (line: string) => void
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal
}

export interface MonitorSummary {
  startedAt: number
  stoppedAt: number
  checks: number
  /** Checks that could not read the pools. */
  failedChecks: number
  scrubs: number
  mailsSent: number
}

/** Another monitor holds the lock. */
export class MonitorRunningError extends Error {
  constructor(holder: number | null) {
    super(`another lnstore monitor is running (pid ${holder ?? 'unknown'}); one is enough. Stop it first (systemctl stop lnstore-monitor, or kill ${holder ?? '<pid>'}) to start this one`)
    this.name = 'MonitorRunningError'
  }
}

export async function runMonitor(deps: Deps, options: MonitorOptions): Promise<MonitorSummary> {
  const {config, log, signal} = options
  await mkdir(options.stateDir, {recursive: true})
  const release = await lock(join(options.stateDir, 'monitor.lock'), 0).catch((error: unknown) => {
    throw error instanceof LockHeldError ? new MonitorRunningError(error.holder) : error
  })
  const summary: MonitorSummary = {startedAt: deps.now(), stoppedAt: 0, checks: 0, failedChecks: 0, scrubs: 0, mailsSent: 0}
  const inFlight = new Set<Promise<void>>()
  const track = (name: string, work: () => Promise<void>): Promise<void> => {
    const running = work()
      .catch((error: Error) => log(`${name} failed: ${error.message}`))
      .finally(() => inFlight.delete(running))
    inFlight.add(running)
    return running
  }

  const backend = await storageBackend(config)
  const base = {config, stateDir: options.stateDir, pools: options.pools, log}
  const check = async () => {
    const outcome = await checkAndAlert(deps, {...base, check: () => backend.status(deps, base)})
    summary.checks++
    summary.mailsSent += outcome.alerts.sent
    if (outcome.error) summary.failedChecks++
    log(checkLine(outcome))
  }

  const scrub = async () => {
    log('weekly scrub: starting')
    const result = await backend.scrub(deps, {...base, wait: true, signal})
    summary.scrubs++
    summary.mailsSent += result.alerts?.sent ?? 0
    for (const pool of result.pools) if (pool.state !== 'finished') log(`scrub ${pool.state}: ${pool.message}`)
    if (result.verdict) log(`weekly scrub done: health ${result.verdict}`)
  }

  try {
    const cron = await import('node-cron')
    const scrubTime = weekly(config.schedule.scrubDay, config.schedule.scrubTime)
    const delayMinutes = config.schedule.randomDelayMinutes
    // node-cron's own words ("task still running, new execution blocked by overlap prevention!") say nothing to an operator.
    const logger = (what: string) => ({
      info: () => {},
      debug: () => {},
      warn: (message: string) => log(/overlap/i.test(message) ? `${what}: the last one is still running; this turn is skipped` : `scheduler: ${message}`),
      error: (message: string | Error) => log(`scheduler: ${String(message)}`),
    })
    const tasks = [
      cron.schedule(everyCron(options.checkEverySeconds), () => track('health check', check), {name: 'lnstore-check', noOverlap: true, logger: logger('health check')}),
      cron.schedule(weeklyCron(scrubTime), () => track('weekly scrub', scrub), {name: 'lnstore-scrub', noOverlap: true, maxRandomDelay: delayMinutes * 60_000, logger: logger('weekly scrub')}),
    ]
    log(
      `monitor started (pid ${process.pid}): health check every ${formatDuration(options.checkEverySeconds)}, weekly scrub ${describeWeekly(scrubTime)}${delayMinutes > 0 ? ` + up to ${delayMinutes} min` : ''} (next ${formatTime(nextWeekly(deps.now(), scrubTime))})`,
    )
    track('health check', check)
    await new Promise((resolve) => {
      if (signal.aborted) resolve(undefined)
      else signal.addEventListener('abort', resolve, {once: true})
    })
    log(`stopping (${String(signal.reason ?? 'asked to')}): ${inFlight.size > 0 ? 'waiting for the work in flight' : 'nothing in flight'}`)
    for (const task of tasks) await task.destroy()
    await Promise.all(inFlight)
  } finally {
    await release()
  }

  summary.stoppedAt = deps.now()
  log(`monitor stopped after ${summary.checks} checks, ${summary.scrubs} scrubs, ${summary.mailsSent} mails sent`)
  return summary
}

/** `check: CRITICAL (tank CRITICAL, backup OK)` */
function checkLine(outcome: CheckOutcome): string {
  if (!outcome.status) return `check: UNKNOWN (${outcome.error?.message ?? 'no result'})`
  const pools = outcome.status.pools.map((pool) => `${pool.name} ${pool.verdict}`).join(', ')
  return `check: ${outcome.status.verdict} (${pools || 'no pools'})`
}
