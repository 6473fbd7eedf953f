/**
 * Numbers as zpool prints them. zpool's `zfs_nicenum` divides by 1024 for sizes *and* for error
 * counts, so `1.2K` errors means about 1229; `-p` prints exact integers instead.
 */

const SUFFIX_POWER: Record<string, number> = {'': 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6, Z: 7}

// zpool formats with printf in the user's locale, so `12,8K` is 12.8K.
const NICE_NUMBER = /^(\d+(?:[.,]\d+)?)([KMGTPEZ]?)(?:i?B)?$/

/** Parses `0`, `9K`, `5.83M`, `1.94T`, `0B`, `512B`, `1234567`; null when it is not a number. */
export function parseNiceNumber(text: string): number | null {
  const match = NICE_NUMBER.exec(text.trim())
  if (!match) return null
  const [, digits, suffix] = match
  return Math.round(Number(digits.replace(',', '.')) * 1024 ** SUFFIX_POWER[suffix])
}

/** True when a printed number was abbreviated and is therefore approximate. */
export function isAbbreviated(text: string): boolean {
  return /[KMGTPEZ.,]/.test(text)
}

/** Parses a rate such as `1.73G/s` or `0B/s` into bytes per second. */
export function parseRate(text: string): number | null {
  return text.endsWith('/s') ? parseNiceNumber(text.slice(0, -2)) : null
}

/**
 * Parses the durations zpool prints: `00:00:01`, `0 days 00:00:05`, `1 days 02:03:04`, and the
 * older `0h0m`, `3h45m`, `1h2m3s`. Null when none of these.
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim()
  const clock = /^(?:(\d+) days? )?(\d+):(\d{2}):(\d{2})$/.exec(trimmed)
  if (clock) {
    const [, days = '0', hours, minutes, seconds] = clock
    return Number(days) * 86_400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)
  }

  const units = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed)
  if (units && trimmed !== '') {
    const [, hours = '0', minutes = '0', seconds = '0'] = units
    return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)
  }

  return null
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * Parses zpool's ctime-style dates, `Tue Nov 24 20:45:31 2026` (optionally with a zone word before
 * the year, as the JSON output prints), into epoch milliseconds. zpool prints local time without a
 * zone, so a date without `UTC`/`GMT` is read in this process's local time zone.
 */
export function parseZpoolDate(text: string): number | null {
  const match = /^(?:[A-Z][a-z]{2} )?([A-Z][a-z]{2}) +(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?: ([A-Z]{2,5}))? (\d{4})$/.exec(
    text.trim(),
  )
  if (!match) return null
  const [, monthName, day, hours, minutes, seconds, zone, year] = match
  const month = MONTHS.indexOf(monthName)
  if (month < 0) return null
  const fields = [Number(year), month, Number(day), Number(hours), Number(minutes), Number(seconds)] as const
  return zone === 'UTC' || zone === 'GMT' ? Date.UTC(...fields) : new Date(...fields).getTime()
}

/** Formats bytes the way an operator reads them: `0B`, `9.0K`, `5.8M`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P', 'E']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }

  return unit === 0 ? `${value}B` : `${value.toFixed(1)}${units[unit]}`
}

/** Formats a duration in seconds as `3d 4h`, `2h 5m`, `12m`, `40s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  if (s >= 60) return `${Math.floor(s / 60)}m`
  return `${s}s`
}
