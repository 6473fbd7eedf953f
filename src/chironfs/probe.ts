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

// A shell with coreutils, not a second Node.js: it starts in a few milliseconds where Node takes a
// few hundred on a busy board, and status runs it for every replica. Each stage prints one line as
// it completes, so a probe that hangs still tells how far it got; a failure prints `error STAGE why`.
const SCRIPT = `
d=$1
fail() { echo "error $1 $(printf %s "$2" | sed -e 's/^[a-z]*: //' | head -n 1)"; exit 1; }
s=$(stat -L -c '%d %F' -- "$d" 2>&1) || fail stat "$s"
case $s in *' directory') ;; *) fail stat "not a directory" ;; esac
echo "stat \${s%% *}"
f=$(stat -f -c '%b %f %a %S' -- "$d" 2>&1) || fail statfs "$f"
echo "statfs $f"
p="$d/${PROBE_PREFIX}$$"
w=$(printf 'lnstore replica probe\\n' | dd of="$p" conv=fsync,excl status=none 2>&1) || fail write "$w"
w=$(rm -- "$p" 2>&1) || fail write "$w"
echo 'write ok'
`

export async function probeReplica(runner: Runner, path: string, timeoutMs: number): Promise<ReplicaProbe> {
  const started = Date.now()
  const result = await runner.run(['sh', '-c', SCRIPT, 'lnstore-probe', path], {timeoutMs})
  const probe: ReplicaProbe = {path, reachable: false, writable: false, timedOut: result.timedOut === true, elapsedMs: Date.now() - started}
  let lastStage: ReplicaProbe['stage'] = 'stat'
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    const [word, ...fields] = line.split(' ')
    if (word === 'error') {
      probe.stage = fields[0] as ReplicaProbe['stage']
      probe.error = fields.slice(1).join(' ')
    } else if (word === 'stat') {
      probe.reachable = true
      probe.device = Number(fields[0])
      lastStage = 'statfs'
    } else if (word === 'statfs') {
      const [blocks, free, available, size] = fields.map(Number)
      const total = blocks * size
      probe.totalBytes = total
      probe.availableBytes = available * size
      // As df: used / (used + available), so the space reserved for root counts as full.
      probe.usedPercent = blocks > 0 ? Math.ceil(((blocks - free) * 100) / (blocks - free + available)) : 0
      lastStage = 'write'
    } else if (word === 'write') {
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
