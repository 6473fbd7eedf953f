import {rename} from 'node:fs/promises'
import {join} from 'node:path'

import type {CounterSample} from '../zfs/error-rates.js'
import {isLeaf, walkVdevs, type Pool, type StatusReport, type Vdev} from '../zfs/status-model.js'
import {CorruptStateError, readJsonFile, updateJsonFile} from './json-file.js'

/** A device's counter history, keyed by GUID where known so that a disk that moves from sdb to sdc keeps its past. */
export interface DeviceHistory {
  pool: string
  name: string
  guid?: string
  samples: CounterSample[]
}

export interface ScrubRecord {
  endedAt: number
  errors: number | null
  repairedBytes?: number
  durationSeconds?: number
  /** Known when lnstore followed the scrub. */
  startedAt?: number
}

/** How much a device's counters grew during a scrub (after a reset: the new counts). */
export interface DeviceCounterChange {
  name: string
  guid?: string
  read: number
  write: number
  cksum: number
}

/** A scrub `lnstore scrub --wait` followed to its end. */
export interface ScrubRun extends ScrubRecord {
  pool: string
  startedAt: number
  durationSeconds: number
  /** Devices whose counters changed during the scrub. */
  devices: DeviceCounterChange[]
}

export interface History {
  version: 1
  devices: Record<string, DeviceHistory>
  /** The newest finished scrub seen per pool (status only shows the latest scan, which may be a resilver). */
  scrubs: Record<string, ScrubRecord>
  /** Every scrub lnstore followed, oldest first (the newest MAX_SCRUB_RUNS). */
  scrubLog?: ScrubRun[]
}

export const EMPTY_HISTORY: History = {version: 1, devices: {}, scrubs: {}}

const DAY_MS = 86_400_000
const MAX_SAMPLES_PER_DEVICE = 5000
const MAX_SCRUB_RUNS = 200

export function deviceKey(pool: Pool, vdev: Vdev): string {
  return vdev.guid ? `guid:${vdev.guid}` : `name:${pool.name}/${vdev.name}`
}

/** Adds what `report` shows to `history`: a sample per leaf device when its counters changed, and finished scrubs. */
export function recordReport(history: History, report: StatusReport, now: number, retentionDays: number): History {
  const devices = {...history.devices}
  const scrubs = {...history.scrubs}
  for (const pool of report.pools) {
    for (const vdev of walkVdevs(pool.vdevs)) {
      if (!isLeaf(vdev) || vdev.read === null || vdev.write === null || vdev.cksum === null) continue
      const key = deviceKey(pool, vdev)
      const previous = devices[key]
      const samples = [...(previous?.samples ?? [])]
      const last = samples.at(-1)
      if (last && last.read === vdev.read && last.write === vdev.write && last.cksum === vdev.cksum) {
        samples[samples.length - 1] = {...last, seen: Math.max(last.seen, now)}
      } else {
        samples.push({t: now, seen: now, read: vdev.read, write: vdev.write, cksum: vdev.cksum})
      }

      devices[key] = {pool: pool.name, name: vdev.name, ...(vdev.guid ? {guid: vdev.guid} : {}), samples}
    }

    const {scan} = pool
    if (scan.kind === 'scrub' && scan.state === 'finished' && scan.endedAt !== undefined && scan.endedAt >= (scrubs[pool.name]?.endedAt ?? 0)) {
      scrubs[pool.name] = {
        endedAt: scan.endedAt,
        errors: scan.errors,
        ...(scan.repairedBytes === undefined ? {} : {repairedBytes: scan.repairedBytes}),
        ...(scan.durationSeconds === undefined ? {} : {durationSeconds: scan.durationSeconds}),
      }
    }
  }

  return {version: 1, devices: prune(devices, now - retentionDays * DAY_MS), scrubs, ...(history.scrubLog ? {scrubLog: history.scrubLog} : {})}
}

/** Adds a scrub lnstore followed: to the log, and as the pool's latest scrub. */
export function recordScrubRun(history: History, run: ScrubRun): History {
  const latest = history.scrubs[run.pool]
  const {pool, startedAt, devices, ...record} = run
  return {
    ...history,
    scrubs: !latest || run.endedAt >= latest.endedAt ? {...history.scrubs, [pool]: {...record, startedAt}} : history.scrubs,
    scrubLog: [...(history.scrubLog ?? []), run].slice(-MAX_SCRUB_RUNS),
  }
}

/** Drops samples older than the cutoff, keeping the newest older one as the baseline for the next increment. */
function prune(devices: Record<string, DeviceHistory>, cutoff: number): Record<string, DeviceHistory> {
  const kept: Record<string, DeviceHistory> = {}
  for (const [key, device] of Object.entries(devices)) {
    const last = device.samples.at(-1)
    if (!last || last.seen < cutoff) continue
    const firstRecent = device.samples.findIndex((sample) => sample.seen >= cutoff)
    const start = Math.max(0, firstRecent - 1, device.samples.length - MAX_SAMPLES_PER_DEVICE)
    kept[key] = {...device, samples: device.samples.slice(start)}
  }

  return kept
}

/** The history file in lnstore's state directory. */
export class HistoryStore {
  readonly path: string
  /** Set when a corrupt history file was moved aside during this run. */
  recoveredFrom: string | null = null

  constructor(stateDir: string) {
    this.path = join(stateDir, 'history.json')
  }

  async read(): Promise<History> {
    try {
      return await readJsonFile(this.path, EMPTY_HISTORY)
    } catch (error) {
      if (error instanceof CorruptStateError) return EMPTY_HISTORY
      throw error
    }
  }

  async record(report: StatusReport, now: number, retentionDays: number): Promise<History> {
    return this.update((current) => recordReport(current, report, now, retentionDays), now)
  }

  async recordScrub(run: ScrubRun, now: number): Promise<History> {
    return this.update((current) => recordScrubRun(current, run), now)
  }

  private async update(change: (current: History) => History, now: number): Promise<History> {
    const update = (current: History) => change(current.version === 1 ? current : EMPTY_HISTORY)
    try {
      return await updateJsonFile(this.path, EMPTY_HISTORY, update)
    } catch (error) {
      if (!(error instanceof CorruptStateError)) throw error
      // The history only feeds error rates: keep the damaged copy for inspection and start afresh.
      this.recoveredFrom = `${this.path}.corrupt-${now}`
      await rename(this.path, this.recoveredFrom)
      return updateJsonFile(this.path, EMPTY_HISTORY, update)
    }
  }
}
