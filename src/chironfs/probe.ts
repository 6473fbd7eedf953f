import type {Runner} from '../system/runner.js'
import {PROBE_PREFIX} from './replicas.js'

/**
 * Is a replica there, writable, and how full? Asked in a child process with a deadline, because
 * on a dead NFS server (a hard mount, or a soft one with long retries) even a `stat` can block
 * for minutes: lnstore must answer within its timeout regardless, and say where it got stuck.
 */
export interface ReplicaProbe {
  path: string
  /** The directory answered a stat and is a directory, and the whole probe finished in time. */
  reachable: boolean
  /** A file could be created, written, synced and removed in it. */
  writable: boolean
  /** The probe did not finish in time; `stage` says what did not answer. */
  timedOut: boolean
  /** The step that failed or did not answer: stat, statfs or write. */
  stage?: 'stat' | 'statfs' | 'write'
  error?: string
  /** st_dev: two replicas with the same one are on the same filesystem. */
  device?: number
  totalBytes?: number
  availableBytes?: number
  /** Percent of the filesystem in use, as df counts it. */
  usedPercent?: number
  elapsedMs: number
}

// Each stage prints one JSON line as it completes, so a probe that hangs still tells how far it got.
const SCRIPT = `
const fs = require('node:fs'), path = require('node:path')
const dir = process.argv.at(-1)
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n')
const fail = (stage, error) => { say({stage, error: error.message}); process.exit(1) }
say({stage: 'stat', start: true})
let st; try { st = fs.statSync(dir) } catch (error) { fail('stat', error) }
if (!st.isDirectory()) fail('stat', new Error('not a directory'))
say({stage: 'stat', device: st.dev})
let sf; try { sf = fs.statfsSync(dir) } catch (error) { fail('statfs', error) }
say({stage: 'statfs', total: sf.blocks * sf.bsize, free: sf.bfree * sf.bsize, available: sf.bavail * sf.bsize})
const file = path.join(dir, '${PROBE_PREFIX}' + process.pid)
try {
  const fd = fs.openSync(file, 'wx', 0o600)
  try { fs.writeSync(fd, 'lnstore replica probe\\n'); fs.fsyncSync(fd) } finally { fs.closeSync(fd); fs.unlinkSync(file) }
} catch (error) { fail('write', error) }
say({stage: 'write', ok: true})
`

export async function probeReplica(runner: Runner, path: string, timeoutMs: number): Promise<ReplicaProbe> {
  const started = Date.now()
  const result = await runner.run([process.execPath, '-e', SCRIPT, '--', path], {timeoutMs})
  const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
  const probe: ReplicaProbe = {path, reachable: false, writable: false, timedOut: result.timedOut === true, elapsedMs: Date.now() - started}
  let lastStage: ReplicaProbe['stage'] = 'stat'
  for (const line of lines) {
    const stage = line.stage as ReplicaProbe['stage']
    if (typeof line.error === 'string') {
      probe.stage = stage
      probe.error = line.error
    } else if (stage === 'stat' && typeof line.device === 'number') {
      probe.reachable = true
      probe.device = line.device
      lastStage = 'statfs'
    } else if (stage === 'statfs') {
      const total = Number(line.total)
      const free = Number(line.free)
      const available = Number(line.available)
      probe.totalBytes = total
      probe.availableBytes = available
      // As df: used / (used + available), so the space reserved for root counts as full.
      probe.usedPercent = total > 0 ? Math.ceil(((total - free) * 100) / (total - free + available)) : 0
      lastStage = 'write'
    } else if (stage === 'write' && line.ok) {
      probe.writable = true
    }
  }

  if (result.timedOut) {
    probe.stage = lastStage
    probe.error = `no answer within ${timeoutMs / 1000} s (${lastStage} blocked: a dead NFS server or a hung disk)`
    // A stat can answer from the NFS client's attribute cache while the server is gone: a replica
    // whose probe does not finish does not answer, and nothing else may read it (it would hang).
    probe.reachable = false
  } else if (!probe.writable && !probe.error) {
    probe.error = result.stderr.trim().split('\n')[0] || `the probe exited with code ${result.exitCode}`
  }

  return probe
}
