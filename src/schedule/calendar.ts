/**
 * When lnstore's jobs run, in the three notations that run them: systemd's OnCalendar, a cron.d
 * line (5 fields) and node-cron (6 fields, seconds first), and the next run computed here so that
 * `schedule show` can say it without asking a running systemd. All times are local, as cron's are.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
export type Weekday = (typeof WEEKDAYS)[number]

/** `HH:MM`, 24 h. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d$/

/** A weekly time: the weekly scrub. */
export interface Weekly {
  day: Weekday
  hour: number
  minute: number
}

/** `sun` + `03:00` (the config's scrubDay and scrubTime). */
export function weekly(day: Weekday, time: string): Weekly {
  const [hour, minute] = time.split(':').map(Number)
  return {day, hour, minute}
}

/**
 * Intervals that repeat evenly on the clock, so the three notations agree: a divisor of a minute
 * (seconds), of an hour (minutes) or of a day (hours).
 */
const EVEN_SECONDS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30]
const EVEN_MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]
const EVEN_HOURS = [1, 2, 3, 4, 6, 8, 12, 24]

/** Null when the interval is even on the clock; otherwise why not, with the nearest choices. */
export function unevenInterval(seconds: number): string | null {
  const even =
    (seconds < 60 && EVEN_SECONDS.includes(seconds)) ||
    (seconds % 60 === 0 && EVEN_MINUTES.includes(seconds / 60)) ||
    (seconds % 3600 === 0 && EVEN_HOURS.includes(seconds / 3600))
  if (even) return null
  return `${seconds} s does not divide a minute, an hour or a day evenly; choose one of ${EVEN_SECONDS.join(', ')} seconds, ${EVEN_MINUTES.join(', ')} minutes, or ${EVEN_HOURS.join(', ')} hours`
}

function assertEven(seconds: number): void {
  const problem = unevenInterval(seconds)
  if (problem) throw new RangeError(problem)
}

const pad = (value: number) => String(value).padStart(2, '0')

/** `Sun 03:00`, for people. */
export function describeWeekly(time: Weekly): string {
  return `${time.day[0].toUpperCase()}${time.day.slice(1)} ${pad(time.hour)}:${pad(time.minute)}`
}

export function weeklyOnCalendar(time: Weekly): string {
  return `${time.day[0].toUpperCase()}${time.day.slice(1)} *-*-* ${pad(time.hour)}:${pad(time.minute)}:00`
}

/** The 5 time fields of a cron line (minute hour day-of-month month day-of-week). */
export function weeklyCron(time: Weekly): string {
  return `${time.minute} ${time.hour} * * ${WEEKDAYS.indexOf(time.day)}`
}

export function everyOnCalendar(seconds: number): string {
  assertEven(seconds)
  if (seconds < 60) return `*-*-* *:*:00/${seconds}`
  if (seconds < 3600) return `*-*-* *:00/${seconds / 60}:00`
  return `*-*-* 00/${seconds / 3600}:00:00`
}

/** node-cron's 6-field form (seconds first); cron.d lines take the last 5 fields of a whole-minute interval. */
export function everyCron(seconds: number): string {
  assertEven(seconds)
  if (seconds < 60) return `*/${seconds} * * * * *`
  if (seconds < 3600) return `0 */${seconds / 60} * * * *`
  return `0 0 */${seconds / 3600} * * *`
}

/** The next time (epoch ms, local time) strictly after `now` at which the weekly time comes round. */
export function nextWeekly(now: number, time: Weekly): number {
  const candidate = new Date(now)
  candidate.setHours(time.hour, time.minute, 0, 0)
  candidate.setDate(candidate.getDate() + ((WEEKDAYS.indexOf(time.day) - candidate.getDay() + 7) % 7))
  if (candidate.getTime() <= now) candidate.setDate(candidate.getDate() + 7)
  return candidate.getTime()
}

/** The next time strictly after `now` at which an even interval fires (aligned on the local clock, as cron and systemd align it). */
export function nextEvery(now: number, seconds: number): number {
  assertEven(seconds)
  const unit = seconds < 60 ? 1 : seconds < 3600 ? 60 : 3600
  const step = seconds / unit
  const candidate = new Date(now)
  candidate.setMilliseconds(0)
  if (unit >= 60) candidate.setSeconds(0)
  if (unit === 3600) candidate.setMinutes(0)
  const field = (date: Date) => (unit === 1 ? date.getSeconds() : unit === 60 ? date.getMinutes() : date.getHours())
  do {
    candidate.setTime(candidate.getTime() + unit * 1000)
  } while (field(candidate) % step !== 0)
  return candidate.getTime()
}

/**
 * A stable delay of up to `maxMinutes` for this machine, from its name: cron has no random delay,
 * and a fresh random pick would make `schedule install` write a different file every time.
 */
export function stableDelayMinutes(seed: string, maxMinutes: number): number {
  if (maxMinutes <= 0) return 0
  let hash = 0
  for (const char of seed) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return hash % maxMinutes
}

/** The weekly time moved later by `minutes` (wrapping into the next day and week). */
export function delayWeekly(time: Weekly, minutes: number): Weekly {
  const total = WEEKDAYS.indexOf(time.day) * 1440 + time.hour * 60 + time.minute + minutes
  const wrapped = total % (7 * 1440)
  return {day: WEEKDAYS[Math.floor(wrapped / 1440)], hour: Math.floor((wrapped % 1440) / 60), minute: wrapped % 60}
}
