import {setTimeout as sleep} from 'node:timers/promises'

import {describeScan} from '../status/render.js'
import type {ScrubProgress, ScrubState} from '../storage/view.js'
import type {Pool} from '../zfs/status-model.js'
import {ZpoolError, type Zpool} from '../zfs/zpool.js'

/** `zpool scrub` returned but status still shows only the scan from before it: give up after this long. */
const NEW_SCAN_DEADLINE_MS = 60_000

/** How a followed scrub ended: finished (with the pool as zpool showed it then), or how it stopped short. */
export type ScrubEnd = {state: 'finished'; pool: Pool} | {state: Exclude<ScrubState, 'started' | 'refused' | 'finished' | 'abandoned'>}

export interface FollowOptions {
  now: () => number
  /** Poll delays: the first, doubling up to the last (ms). */
  poll: {firstMs: number; maxMs: number}
  onProgress?: (progress: ScrubProgress) => void
  /** Stops following (the scrub itself goes on in ZFS): the promise rejects with the signal's AbortError. */
  signal?: AbortSignal
}

/**
 * Follows the scrub of `name` started at `startedAt` to its end by polling `zpool status` (zfs-fuse
 * and old OpenZFS have no `zpool wait`): for `lnstore scrub --wait`, and for replace-disk's scrub
 * that proves every copy after a resilver cut short.
 */
export async function followScrub(zpool: Zpool, name: string, startedAt: number, options: FollowOptions): Promise<ScrubEnd> {
  const {poll} = options
  // zpool prints whole seconds: a scan that ended in the second the scrub started may be this one.
  const startSecond = Math.floor(startedAt / 1000) * 1000
  for (let delay = poll.firstMs; ; delay = Math.min(delay * 2, poll.maxMs)) {
    let reading: Pool
    try {
      reading = findPool(await zpool.status([name]), name)
    } catch (error) {
      if (!(error instanceof ZpoolError && error.failure === 'no-such-pool')) throw error
      return {state: 'pool-gone'}
    }

    const {scan} = reading
    const since = (at: number | undefined) => at === undefined || at >= startSecond
    if (scan.kind === 'scrub' && scan.state === 'in_progress') {
      options.onProgress?.({pool: name, percent: scan.percent, bytesPerSecond: scan.bytesPerSecond, secondsToGo: scan.secondsToGo})
    } else if (scan.kind === 'scrub' && scan.state === 'finished' && since(scan.endedAt)) {
      return {state: 'finished', pool: reading}
    } else if (scan.kind === 'scrub' && scan.state === 'paused') {
      return {state: 'paused'}
    } else if (scan.kind === 'scrub' && scan.state === 'canceled' && since(scan.endedAt)) {
      return {state: 'canceled'}
    } else if (scan.kind === 'resilver' && (scan.state === 'in_progress' || since(scan.endedAt))) {
      return {state: 'preempted'}
    } else if (options.now() - startedAt > NEW_SCAN_DEADLINE_MS) {
      throw new Error(`\`zpool scrub ${name}\` succeeded, but \`zpool status ${name}\` still shows no new scrub after ${NEW_SCAN_DEADLINE_MS / 1000} s (it shows: ${describeScan(scan) ?? 'no scan'})`)
    }

    await sleep(delay, undefined, {signal: options.signal})
  }
}

/** The pool named `name` in a status reading; an error when zpool printed no such pool. */
export function findPool(reading: {report: {pools: Pool[]}}, name: string): Pool {
  const pool = reading.report.pools.find((candidate) => candidate.name === name)
  if (!pool) throw new Error(`\`zpool status ${name}\` printed no pool named ${name}`)
  return pool
}
