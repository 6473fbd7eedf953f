import type {ErrorRates} from '../zfs/error-rates.js'
import type {Finding, Verdict} from '../storage/verdict.js'

/**
 * When to mail: on every change of verdict of a pool or one of its devices (OK → WARNING →
 * CRITICAL, and back: "recovered"), and while a problem lasts, again at most once per interval.
 * Pure: the state in, the state and the alerts out.
 */

/** The scope of findings not tied to one pool: zpool missing or failing, the data directory's mount. */
export const HOST_SCOPE = '*'

export interface DeviceObservation {
  /** GUID where known, else the name: stable across runs. */
  key: string
  name: string
  verdict: Verdict
  findings: Finding[]
  read: number | null
  write: number | null
  cksum: number | null
  rates: ErrorRates | null
}

/** What one check saw of a pool (or of the host). */
export interface ScopeObservation {
  scope: string
  /** What the operator calls the scope ("pool tank"); by default from its name. */
  label?: string
  verdict: Verdict
  /** The scope's own findings that are not OK. */
  findings: Finding[]
  devices: DeviceObservation[]
}

export interface ScopeState {
  verdict: Verdict
  /** Since when the scope has had this verdict (epoch ms). */
  since: number
  /** When the last mail about it was queued; null before the first. */
  lastSentAt: number | null
  devices: Record<string, {name: string; verdict: Verdict}>
}

/** One subject's verdict before and after; `from` null: first seen; `to` null: no longer there. */
export interface Change {
  subject: string
  from: Verdict | null
  to: Verdict | null
}

export type AlertKind = 'problem' | 'changed' | 'repeat' | 'recovered'

export interface Alert {
  kind: AlertKind
  scope: string
  verdict: Verdict
  /** The verdict before this check. */
  previous: Verdict | null
  since: number
  changes: Change[]
  observation: ScopeObservation
}

export interface DecideOptions {
  now: number
  repeatMs: number
  /** The check covered every pool, so a pool it did not see is gone (exported, destroyed). */
  complete: boolean
}

export function scopeLabel(scope: string, label?: string): string {
  return label ?? (scope === HOST_SCOPE ? 'lnstore' : `pool ${scope}`)
}

export function decideAlerts(
  scopes: Record<string, ScopeState>,
  observations: ScopeObservation[],
  options: DecideOptions,
): {scopes: Record<string, ScopeState>; alerts: Alert[]} {
  const {now} = options
  const next: Record<string, ScopeState> = {...scopes}
  const alerts: Alert[] = []
  for (const observation of observations) {
    const previous = scopes[observation.scope]
    const before = previous?.verdict ?? 'OK'
    const changes = changesOf(previous, observation)
    // A clock that went back would hold repeats off until it catches up: count the interval from now.
    const lastSentAt = previous?.lastSentAt === null || previous?.lastSentAt === undefined ? null : Math.min(previous.lastSentAt, now)
    let kind: AlertKind | null = null
    if (changes.length > 0) {
      if (observation.verdict === 'OK') kind = before === 'OK' ? 'changed' : 'recovered'
      else kind = before === 'OK' ? 'problem' : 'changed'
    } else if (observation.verdict !== 'OK' && (lastSentAt === null || now - lastSentAt >= options.repeatMs)) {
      kind = 'repeat'
    }

    const since = previous && previous.verdict === observation.verdict ? previous.since : now
    next[observation.scope] = {
      verdict: observation.verdict,
      since,
      lastSentAt: kind ? now : lastSentAt,
      devices: Object.fromEntries(observation.devices.map((device) => [device.key, {name: device.name, verdict: device.verdict}])),
    }
    if (kind) alerts.push({kind, scope: observation.scope, verdict: observation.verdict, previous: previous?.verdict ?? null, since, changes, observation})
  }

  if (options.complete) {
    const seen = new Set(observations.map((observation) => observation.scope))
    for (const [scope, state] of Object.entries(scopes)) {
      if (scope === HOST_SCOPE || seen.has(scope)) continue
      // Said once, then forgotten: a pool that comes back is judged afresh.
      delete next[scope]
      const finding = {verdict: 'UNKNOWN' as const, message: `${scopeLabel(scope)} is no longer imported: lnstore cannot see it`, next: `zpool import ${scope}`}
      alerts.push({
        kind: 'changed',
        scope,
        verdict: 'UNKNOWN',
        previous: state.verdict,
        since: now,
        changes: [{subject: scopeLabel(scope), from: state.verdict, to: null}],
        observation: {scope, verdict: 'UNKNOWN', findings: [finding], devices: []},
      })
    }
  }

  return {scopes: next, alerts}
}

function changesOf(previous: ScopeState | undefined, observation: ScopeObservation): Change[] {
  const changes: Change[] = []
  if (!previous) {
    if (observation.verdict !== 'OK') changes.push({subject: scopeLabel(observation.scope, observation.label), from: null, to: observation.verdict})
  } else if (previous.verdict !== observation.verdict) {
    changes.push({subject: scopeLabel(observation.scope, observation.label), from: previous.verdict, to: observation.verdict})
  }

  for (const device of observation.devices) {
    // A device lnstore has not seen before was not OK before: it is first seen (pool first seen, disk added).
    const was = previous?.devices[device.key]?.verdict ?? null
    if (was === null ? device.verdict !== 'OK' : was !== device.verdict) changes.push({subject: device.name, from: was, to: device.verdict})
  }

  const present = new Set(observation.devices.map((device) => device.key))
  for (const [key, device] of Object.entries(previous?.devices ?? {})) {
    if (!present.has(key) && device.verdict !== 'OK') changes.push({subject: device.name, from: device.verdict, to: null})
  }

  return changes
}
