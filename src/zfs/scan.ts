import {EMPTY_SCAN, type ScanInfo, type ScanKind} from './status-model.js'
import {parseDuration, parseNiceNumber, parseRate, parseZpoolDate} from '../storage/units.js'

/**
 * Reads the text after `scan:` (OpenZFS) or `scrub:` (zfs-fuse, Solaris), continuation lines
 * joined with `\n`. Returns null when the first line is none of the known forms, so the caller can
 * keep it as a warning.
 */
export function parseScanText(raw: string): ScanInfo | null {
  const [first, ...rest] = raw.split('\n').map((line) => line.trim())
  const base = {...EMPTY_SCAN, raw}
  if (first === 'none requested') return base

  // OpenZFS: "scrub repaired 9K in 00:00:01 with 0 errors on Tue Nov 24 20:45:31 2026",
  //          "resilvered 41.2M in 0 days 00:00:05 with 0 errors on ...", draid: "resilvered (draid2:...) 2.2G in ..."
  let m = /^(scrub repaired|resilvered)(?: \([^)]*\))? (\S+) in (.+?) with (\d+) errors on (.+)$/.exec(first)
  if (m) {
    const kind: ScanKind = m[1] === 'resilvered' ? 'resilver' : 'scrub'
    return {
      ...base,
      kind,
      state: 'finished',
      percent: 100,
      errors: Number(m[4]),
      repairedBytes: parseNiceNumber(m[2]) ?? undefined,
      durationSeconds: parseDuration(m[3]) ?? undefined,
      endedAt: parseZpoolDate(m[5]) ?? undefined,
    }
  }

  // zfs-fuse / Solaris: "scrub completed after 0h0m with 0 errors on ...", "resilver completed after ...",
  // and a stopped scrub: "scrub stopped after 0h0m with 0 errors on ...".
  m = /^(scrub|resilver) (completed|stopped) after (\S+) with (\d+) errors on (.+)$/.exec(first)
  if (m) {
    return {
      ...base,
      kind: m[1] as ScanKind,
      state: m[2] === 'completed' ? 'finished' : 'canceled',
      percent: m[2] === 'completed' ? 100 : null,
      errors: Number(m[4]),
      durationSeconds: parseDuration(m[3]) ?? undefined,
      endedAt: parseZpoolDate(m[5]) ?? undefined,
    }
  }

  m = /^(scrub|resilver) canceled on (.+)$/.exec(first)
  if (m) return {...base, kind: m[1] as ScanKind, state: 'canceled', endedAt: parseZpoolDate(m[2]) ?? undefined}

  // zfs-fuse / Solaris in progress: "scrub in progress for 0h0m, 12.34% done, 0h1m to go"
  m = /^(scrub|resilver) in progress for (\S+), ([\d.]+)% done, (\S+) to go$/.exec(first)
  if (m) {
    return {
      ...base,
      kind: m[1] as ScanKind,
      state: 'in_progress',
      percent: Number(m[3]),
      durationSeconds: parseDuration(m[2]) ?? undefined,
      secondsToGo: parseDuration(m[4]) ?? undefined,
    }
  }

  m = /^scrub paused since (.+)$/.exec(first)
  if (m) return readProgress({...base, kind: 'scrub', state: 'paused', pausedAt: parseZpoolDate(m[1]) ?? undefined}, rest)

  m = /^(scrub|resilver)(?: \([^)]*\))? in progress since (.+)$/.exec(first)
  if (m) {
    const started = {...base, kind: m[1] as ScanKind, state: 'in_progress' as const, startedAt: parseZpoolDate(m[2]) ?? undefined}
    return readProgress(started, rest)
  }

  return null
}

/** Reads the progress lines under an in-progress or paused scan, in every OpenZFS generation's format. */
function readProgress(scan: ScanInfo, lines: string[]): ScanInfo {
  const result = {...scan}
  for (const line of lines) {
    let m: RegExpExecArray | null
    if ((m = /^scrub started on (.+)$/.exec(line))) {
      result.startedAt = parseZpoolDate(m[1]) ?? undefined
    } else if ((m = /^(\S+) scanned(?: at (\S+))?, (\S+) issued(?: at (\S+))?, (\S+) total$/.exec(line))) {
      // 0.8 - 2.1: "1.94T scanned at 1.73G/s, 339G issued at 304M/s, 2.92T total"
      assignProgress(result, m[1], m[3], m[5], m[4] ?? m[2])
    } else if ((m = /^(\S+) \/ (\S+) scanned(?: at (\S+))?, (\S+) \/ \S+ issued(?: at (\S+))?$/.exec(line))) {
      // 2.2+: "1.38T / 4.80T scanned at 417M/s, 1.07T / 4.80T issued at 323M/s"
      assignProgress(result, m[1], m[4], m[2], m[5] ?? m[3])
    } else if ((m = /^(\S+) scanned out of (\S+) at (\S+), (.+) to go$/.exec(line))) {
      // 0.6 / 0.7: "1.10T scanned out of 3.02T at 150M/s, 3h45m to go"
      assignProgress(result, m[1], undefined, m[2], m[3])
      result.secondsToGo = parseDuration(m[4]) ?? undefined
    } else if ((m = /^(\S+) (?:repaired|resilvered), ([\d.]+)% done(?:, (.+))?$/.exec(line))) {
      // "0B repaired, 11.36% done, 02:28:58 to go" / "..., no estimated completion time"
      result.repairedBytes = parseNiceNumber(m[1]) ?? undefined
      result.percent = Number(m[2])
      const toGo = m[3] ? /^(.+) to go$/.exec(m[3]) : null
      if (toGo) result.secondsToGo = parseDuration(toGo[1]) ?? undefined
    }
  }

  return result
}

function assignProgress(scan: ScanInfo, scanned: string, issued: string | undefined, total: string, rate?: string): void {
  scan.scannedBytes = parseNiceNumber(scanned) ?? undefined
  if (issued !== undefined) scan.issuedBytes = parseNiceNumber(issued) ?? undefined
  scan.totalBytes = parseNiceNumber(total) ?? undefined
  if (rate) scan.bytesPerSecond = parseRate(rate) ?? undefined
}
