import {formatBytes, formatDuration} from '../storage/units.js'
import type {ScrubProgress} from '../storage/view.js'

/** `tank: scrub 45.2% done, 120.0M/s, 3m to go` */
export function describeProgress(progress: ScrubProgress, kind = 'scrub'): string {
  const parts = [progress.percent === null ? `${kind} running` : `${kind} ${progress.percent.toFixed(1)}% done`]
  if (progress.bytesPerSecond !== undefined) parts.push(`${formatBytes(progress.bytesPerSecond)}/s`)
  if (progress.secondsToGo !== undefined) parts.push(`${formatDuration(progress.secondsToGo)} to go`)
  return `${progress.pool}: ${parts.join(', ')}`
}

/**
 * The live progress line: rewritten in place on a terminal; without one (cron, journald) a line at
 * each further 10% or each minute, whichever comes first.
 */
export function progressPrinter(options: {tty: boolean; write: (text: string) => void; now?: () => number}): {update(progress: ScrubProgress): void; end(): void} {
  const now = options.now ?? Date.now
  const last = new Map<string, {percent: number; at: number}>()
  let open = false
  return {
    update(progress) {
      const line = describeProgress(progress)
      if (options.tty) {
        options.write(`\r\u001B[K${line}`)
        open = true
        return
      }

      const previous = last.get(progress.pool)
      const percent = progress.percent ?? 0
      if (previous && Math.floor(percent / 10) === Math.floor(previous.percent / 10) && now() - previous.at < 60_000) return
      last.set(progress.pool, {percent, at: now()})
      options.write(`${line}\n`)
    },
    end() {
      if (open) options.write('\n')
      open = false
    },
  }
}
