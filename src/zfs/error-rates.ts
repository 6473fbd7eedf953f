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

/**
 * Errors that every member of a redundant vdev gained in the same interval come from what the
 * members share (a cable, a controller, a pool suspended because all of them failed), not from any
 * one disk. Once a member's counters were reset after them (`zpool clear`, the documented way back
 * once the cause is fixed), they are settled: they no longer count against that disk's rates, so a
 * recovered pool is not "failing" for weeks. Errors that are one disk's own, or that continue
 * after the clear, still count. Returns each member's increments without the settled ones, and
 * how many errors each had settled.
 */
export function withoutSettledSharedErrors(members: ErrorIncrement[][]): {increments: ErrorIncrement[][]; settled: number[]} {
  if (members.length < 2) return {increments: members, settled: members.map(() => 0)}
  const overlaps = (a: ErrorIncrement, b: ErrorIncrement) => a.from < b.to && b.from < a.to
  const shared = (member: number, increment: ErrorIncrement) =>
    members.every((others, index) => index === member || others.some((other) => total(other) > 0 && overlaps(increment, other)))
  const result = members.map((increments, member) => {
    const lastReset = increments.findLastIndex((increment) => increment.afterReset)
    const settled = increments.filter((increment, index) => index < lastReset && total(increment) > 0 && shared(member, increment))
    return {increments: increments.filter((increment) => !settled.includes(increment)), settled: settled.reduce((sum, increment) => sum + total(increment), 0)}
  })
  return {increments: result.map((entry) => entry.increments), settled: result.map((entry) => entry.settled)}
}
