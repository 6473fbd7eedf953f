/**
 * Error counters as rates. ZFS counters are cumulative but reset when a pool is imported, the
 * machine reboots or `zpool clear` runs; a counter that goes down is a reset, never negative errors.
 */

/** One observation of a device's counters: first seen at `t`, still the same at `seen` (epoch ms). */
export interface CounterSample {
  t: number
  seen: number
  read: number
  write: number
  cksum: number
}

/** Errors that appeared between two observations: somewhere in the interval (from, to]. */
export interface ErrorIncrement {
  from: number
  to: number
  read: number
  write: number
  cksum: number
  /** The counters went down before this increment: they were reset (import, reboot, `zpool clear`). */
  afterReset: boolean
}

export interface ErrorRates {
  /** New errors (read + write + checksum) whose interval ended within the last hour / day / window. */
  lastHour: number
  lastDay: number
  lastWindow: number
  windowDays: number
}

export interface BurstRule {
  errors: number
  seconds: number
}

/** Increments between consecutive samples, reset-aware. */
export function errorIncrements(samples: CounterSample[]): ErrorIncrement[] {
  const increments: ErrorIncrement[] = []
  for (let i = 1; i < samples.length; i++) {
    const previous = samples[i - 1]
    const current = samples[i]
    const reset = current.read < previous.read || current.write < previous.write || current.cksum < previous.cksum
    const delta = (key: 'read' | 'write' | 'cksum') => (reset ? current[key] : current[key] - previous[key])
    increments.push({from: previous.seen, to: current.t, read: delta('read'), write: delta('write'), cksum: delta('cksum'), afterReset: reset})
  }

  return increments
}

const total = (increment: ErrorIncrement) => increment.read + increment.write + increment.cksum

export function errorRates(increments: ErrorIncrement[], now: number, windowDays: number): ErrorRates {
  const since = (ms: number) => increments.filter((inc) => inc.to > now - ms).reduce((sum, inc) => sum + total(inc), 0)
  return {lastHour: since(3_600_000), lastDay: since(86_400_000), lastWindow: since(windowDays * 86_400_000), windowDays}
}

/**
 * The most errors of one kind seen within `rule.seconds`, counting only increments whose whole
 * interval fits in the window (a longer gap cannot prove a burst) and only since the counters were
 * last reset: after `zpool clear` the operator has dealt with it, and ZFS starts counting afresh.
 */
export function worstBurst(increments: ErrorIncrement[], kind: 'cksum' | 'io', rule: BurstRule): {errors: number; from: number; to: number} | null {
  const lastReset = increments.findLastIndex((inc) => inc.afterReset)
  const relevant = increments.slice(Math.max(0, lastReset)).filter((inc) => inc.to - inc.from <= rule.seconds * 1000)
  const amount = (inc: ErrorIncrement) => (kind === 'cksum' ? inc.cksum : inc.read + inc.write)
  let worst: {errors: number; from: number; to: number} | null = null
  for (let start = 0; start < relevant.length; start++) {
    let errors = 0
    for (let end = start; end < relevant.length && relevant[end].to - relevant[start].from <= rule.seconds * 1000; end++) {
      errors += amount(relevant[end])
      if (errors > 0 && (!worst || errors > worst.errors)) worst = {errors, from: relevant[start].from, to: relevant[end].to}
    }
  }

  return worst
}
