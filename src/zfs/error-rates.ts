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

const INCIDENT_MARGIN_MS = 3_600_000

/** Checksum errors a member showed after the clear of a shared incident, and when that clear came (after this time). */
export interface Fallout {
  errors: number
  clearedAfter: number
}

/**
 * Errors that every member of a redundant vdev gained in the same interval come from what the
 * members share (a cable, a controller, a pool suspended because all of them failed), not from any
 * one disk. Once a member's counters were reset after them (`zpool clear`, the documented way back
 * once the cause is fixed), they are settled: they no longer count against that disk's rates, so a
 * recovered pool is not "failing" for weeks. A member that could not be written meanwhile missed
 * writes its siblings got: the checksum errors it shows after that clear (the resilver and reads
 * finding those stale blocks and repairing them from the siblings), until a scrub has read every
 * block (`scrubEndedAt`, the newest finished scrub), are the incident's too: `fallout`. Errors that
 * are one disk's own, or that come after that scrub, still count. Returns each member's increments
 * without the settled and fallout ones, the errors each had settled, and each member's fallout
 * still in its counters (0 once they were cleared again).
 */
export function withoutSettledSharedErrors(members: ErrorIncrement[][], scrubEndedAt: number | null = null): {increments: ErrorIncrement[][]; settled: number[]; fallout: Fallout[]} {
  if (members.length < 2) return {increments: members, settled: members.map(() => 0), fallout: members.map(() => ({errors: 0, clearedAfter: 0}))}
  // One incident: errors within the hour of the others' (checks sample each disk as its counters move).
  const overlaps = (a: ErrorIncrement, b: ErrorIncrement) => a.from < b.to + INCIDENT_MARGIN_MS && b.from < a.to + INCIDENT_MARGIN_MS
  const shared = (member: number, increment: ErrorIncrement) =>
    members.every((others, index) => index === member || others.some((other) => total(other) > 0 && overlaps(increment, other)))
  const result = members.map((increments, member) => {
    const lastReset = increments.findLastIndex((increment) => increment.afterReset)
    const settled = new Set(increments.filter((increment, index) => index < lastReset && total(increment) > 0 && shared(member, increment)))
    const lastSettled = increments.findLastIndex((increment) => settled.has(increment))
    const clear = lastSettled === -1 ? -1 : increments.findIndex((increment, index) => index > lastSettled && increment.afterReset)
    const missedWrites = [...settled].some((increment) => increment.write > 0)
    const until = clear !== -1 && scrubEndedAt !== null && scrubEndedAt > increments[clear].from ? scrubEndedAt : Number.POSITIVE_INFINITY
    const isFallout = (increment: ErrorIncrement, index: number) => missedWrites && clear !== -1 && index >= clear && increment.from < until && increment.cksum > 0
    const kept = increments.filter((increment) => !settled.has(increment)).map((increment) => (isFallout(increment, increments.indexOf(increment)) ? {...increment, cksum: 0} : increment))
    const fallout = increments.reduce((sum, increment, index) => sum + (index >= lastReset && isFallout(increment, index) ? increment.cksum : 0), 0)
    return {increments: kept, settled: [...settled].reduce((sum, increment) => sum + total(increment), 0), fallout: {errors: fallout, clearedAfter: clear === -1 ? 0 : increments[clear].from}}
  })
  return {increments: result.map((entry) => entry.increments), settled: result.map((entry) => entry.settled), fallout: result.map((entry) => entry.fallout)}
}
