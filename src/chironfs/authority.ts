import type {DatabaseReading} from '../node/data-version.js'
import type {Difference} from './divergence.js'

/**
 * Which replica holds the node's latest, intact data, so that heal copies from it and never over
 * it. Pure: readings in, a decision out.
 *
 * - A copy that fails SQLite's integrity check is never a source.
 * - The authoritative replica has the highest data_version among the intact ones; every replica
 *   below it is stale. When a copy that fails the check is *ahead* of every intact one, the
 *   node's latest state exists nowhere intact: refuse.
 * - Replicas at the same data_version whose files still differ: ChironFS's own record (it
 *   disabled some of them after a failed write) says which are stale; else lnstore's record of
 *   what it last verified (a copy still exactly like it is intact, the other was changed behind
 *   ChironFS); otherwise refuse to guess.
 * - lnstore's high-water mark (the highest data_version it has seen the node write) bounds it all:
 *   an intact copy below it is older than what the node last wrote, and a damaged copy whose
 *   data_version cannot be read may be newer than the intact ones unless they reach the mark.
 */

export interface ReplicaState {
  replica: string
  reachable: boolean
  /** Null when the replica has no database (nor do the others, in a data directory without one). */
  database: DatabaseReading | null
  /** ChironFS disabled it (control socket or files, or its log). */
  disabledByChironfs: boolean
}

export interface Authority {
  /** Null when no replica may be trusted as the source (see `problem`). */
  authoritative: string | null
  /** Replicas to bring in line with the authoritative one. */
  stale: {replica: string; reason: string}[]
  problem: string | null
}

const intact = (reading: DatabaseReading | null) => reading === null || reading.check === 'ok' || reading.check === 'not run'
const version = (reading: DatabaseReading | null) => reading?.dataVersion ?? -1

export function chooseAuthoritative(states: ReplicaState[], differences: Difference[], highWater: number | null = null): Authority {
  const unreachable = states.filter((state) => !state.reachable)
  const reachable = states.filter((state) => state.reachable)
  const broken = reachable.filter((state) => !intact(state.database))
  const candidates = reachable.filter((state) => intact(state.database))
  const stale: Authority['stale'] = [
    ...unreachable.map((state) => ({replica: state.replica, reason: 'unreachable: it cannot be compared'})),
    ...broken.map((state) => ({replica: state.replica, reason: `its database fails the integrity check (${state.database!.check})`})),
  ]
  if (candidates.length === 0) return {authoritative: null, stale, problem: 'no reachable replica holds an intact copy of the node database: there is nothing safe to copy from'}

  const best = Math.max(...candidates.map((state) => version(state.database)))
  const newerBroken = broken.filter((state) => version(state.database) > best)
  if (newerBroken.length > 0) {
    return {
      authoritative: null,
      stale,
      problem: `the newest copy of the node database (data_version ${version(newerBroken[0].database)} on ${newerBroken[0].replica}) fails its integrity check, and every intact copy is older (data_version ${best}): healing from an older copy would roll the node back`,
    }
  }

  if (highWater !== null && best >= 0 && best < highWater) {
    return {authoritative: null, stale, problem: `every intact copy of the node database is older (data_version ${best}) than what lnstore has seen the node write (data_version ${highWater}): healing from it would roll the node back`}
  }

  const unknown = broken.filter((state) => state.database?.dataVersion === null)
  if (unknown.length > 0 && best >= 0 && (highWater === null || best < highWater)) {
    return {
      authoritative: null,
      stale,
      problem: `the copy of the node database in ${unknown[0].replica} is damaged and its data_version cannot be read, so lnstore cannot prove that the intact copy (data_version ${best}) is not older; it has no record of the node's latest data_version to compare with`,
    }
  }

  const behind = candidates.filter((state) => version(state.database) < best)
  stale.push(...behind.map((state) => ({replica: state.replica, reason: state.database?.dataVersion === null || !state.database ? 'it has no copy of the node database' : `its database is behind (data_version ${state.database.dataVersion}, the newest is ${best})`})))
  let top = candidates.filter((state) => version(state.database) === best)
  const topNames = new Set(top.map((state) => state.replica))
  // Differences between the top replicas themselves (stale ones differ anyway).
  const conflicts = differences.filter((difference) => difference.groups.filter((group) => group.some((replica) => topNames.has(replica))).length > 1)
  if (conflicts.length > 0) {
    const enabled = top.filter((state) => !state.disabledByChironfs)
    const agree = enabled.length > 0 && conflicts.every((difference) => difference.groups.some((group) => enabled.every((state) => group.includes(state.replica))))
    if (enabled.length < top.length && agree) {
      stale.push(...top.filter((state) => state.disabledByChironfs).map((state) => ({replica: state.replica, reason: 'ChironFS disabled it after a write failed there, and its files differ'})))
      top = enabled
    } else {
      // Without ChironFS's word: the copies still exactly as lnstore last verified them are intact, the others were changed behind ChironFS.
      const intact = top.filter((state) => conflicts.every((difference) => difference.intact?.includes(state.replica)))
      if (intact.length === 0) {
        return {
          authoritative: null,
          stale,
          problem: `replicas ${top.map((state) => state.replica).join(' and ')} have the same data_version${best >= 0 ? ` (${best})` : ''} but different content (${conflicts.slice(0, 3).map((difference) => difference.detail).join('; ')}), and no copy is known to be as lnstore last verified it: lnstore will not guess which one is right`,
        }
      }

      const changed = (replica: string) => conflicts.filter((difference) => !difference.intact!.includes(replica)).map((difference) => difference.path)
      stale.push(...top.filter((state) => !intact.includes(state)).map((state) => ({replica: state.replica, reason: `its copy of ${changed(state.replica).join(', ')} is not what lnstore last verified, while ${intact[0].replica} still holds that: changed behind ChironFS`})))
      top = intact
    }
  }

  return {authoritative: top[0].replica, stale, problem: null}
}
