import {rename} from 'node:fs/promises'
import {join} from 'node:path'

import {CorruptStateError, readJsonFile, updateJsonFile} from './json-file.js'

/**
 * What lnstore remembers about the node's data between runs, off the pool: the highest
 * data_version it has seen (a database that later shows less was rolled back), and up to when the
 * pool's history of rollbacks and rewinds has been acknowledged by the operator.
 */
export interface FreshnessState {
  version: 1
  /** Per database path: the highest data_version seen, when, and by which lnstore command. */
  highWater: Record<string, {dataVersion: number; seenAt: number; by: string}>
  /** Per pool: events in `zpool history` up to this time (epoch ms) need no acknowledgement. */
  historyAcknowledged: Record<string, {until: number; by: string; at: number; events: string[]; seen?: string[]}>
}

export const EMPTY_FRESHNESS: FreshnessState = {version: 1, highWater: {}, historyAcknowledged: {}}

export function freshnessPath(stateDir: string): string {
  return join(stateDir, 'freshness.json')
}

/** Reads the state; a damaged file throws CorruptStateError: never guess a high-water mark. */
export function readFreshness(stateDir: string): Promise<FreshnessState> {
  return readJsonFile(freshnessPath(stateDir), EMPTY_FRESHNESS)
}

/** Raises the high-water mark of a database to `dataVersion` (never lowers it); returns the state after. */
export function recordDataVersion(stateDir: string, database: string, dataVersion: number, now: number, by: string): Promise<FreshnessState> {
  return updateJsonFile(freshnessPath(stateDir), EMPTY_FRESHNESS, (state) => {
    const current = state.highWater[database]
    if (current && current.dataVersion >= dataVersion) return state
    return {...state, highWater: {...state.highWater, [database]: {dataVersion, seenAt: now, by}}}
  })
}

/** Sets the high-water mark to exactly `dataVersion`: the operator's deliberate acceptance of the data as it is. */
export function reseedDataVersion(stateDir: string, database: string, dataVersion: number, now: number, by: string): Promise<FreshnessState> {
  return updateJsonFile(freshnessPath(stateDir), EMPTY_FRESHNESS, (state) => ({...state, highWater: {...state.highWater, [database]: {dataVersion, seenAt: now, by}}}))
}

/** Drops the record of a database that is gone: the operator accepted that the node starts over. */
export function forgetDataVersion(stateDir: string, database: string): Promise<FreshnessState> {
  return updateJsonFile(freshnessPath(stateDir), EMPTY_FRESHNESS, (state) => ({...state, highWater: Object.fromEntries(Object.entries(state.highWater).filter(([path]) => path !== database))}))
}

/** Moves a damaged record aside (kept for inspection), so that a new one can be started. */
export async function setAsideDamaged(stateDir: string, now: number): Promise<void> {
  const path = freshnessPath(stateDir)
  try {
    await readFreshness(stateDir)
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error
    await rename(path, `${path}.corrupt-${now}`)
  }
}

/**
 * Acknowledges the pool's history up to `until`. `seen`: the discarding events (`<epoch ms> <command>`)
 * known at that moment; zpool history counts in whole seconds, so these tell the events of the
 * acknowledgement's own second that it covers from those that came after it.
 */
export function acknowledgeHistory(stateDir: string, pool: string, until: number, by: string, now: number, events: string[], seen: string[]): Promise<FreshnessState> {
  const sameSecond = (key: string) => Number.parseInt(key, 10) >= Math.floor(until / 1000) * 1000
  return updateJsonFile(freshnessPath(stateDir), EMPTY_FRESHNESS, (state) => ({
    ...state,
    historyAcknowledged: {...state.historyAcknowledged, [pool]: {until, by, at: now, events, seen: [...new Set([...(state.historyAcknowledged[pool]?.seen ?? []), ...seen])].filter(sameSecond)}},
  }))
}
