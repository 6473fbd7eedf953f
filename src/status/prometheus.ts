import type {Verdict} from '../storage/verdict.js'
import type {StatusResult, VdevView} from '../storage/view.js'

const VERDICTS: Verdict[] = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']
/** The pool states node_exporter's ZFS collector labels `node_zfs_zpool_state` with. */
const POOL_STATES = ['online', 'degraded', 'faulted', 'offline', 'removed', 'unavail', 'suspended']

type Labels = Record<string, string>

/** Collects samples per metric name and prints them in the text exposition format. */
class Exposition {
  private readonly metrics = new Map<string, {help: string; samples: string[]}>()

  add(name: string, help: string, labels: Labels, value: number): void {
    const metric = this.metrics.get(name) ?? {help, samples: []}
    const text = Object.entries(labels)
      .map(([key, label]) => `${key}="${label.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
      .join(',')
    metric.samples.push(`${name}${text ? `{${text}}` : ''} ${value}`)
    this.metrics.set(name, metric)
  }

  /** One series per possible value, 1 for the current one: how node_exporter exposes states. */
  addStates(name: string, help: string, labels: Labels, label: string, values: string[], current: string): void {
    for (const value of values.includes(current) ? values : [...values, current]) this.add(name, help, {...labels, [label]: value}, value === current ? 1 : 0)
  }

  toString(): string {
    return `${[...this.metrics.entries()].map(([name, {help, samples}]) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples].join('\n')).join('\n')}\n`
  }
}

function checkMetrics(out: Exposition, success: boolean, verdict: Verdict, checkedAt: number): void {
  out.add('lnstore_check_success', '1 when lnstore could read the pools and judge them; 0 when the check itself failed (the verdict is then UNKNOWN).', {}, success ? 1 : 0)
  out.add('lnstore_check_timestamp_seconds', 'When this check ran (Unix time).', {}, Math.floor(checkedAt / 1000))
  const lower = VERDICTS.map((value) => value.toLowerCase())
  out.addStates('lnstore_verdict', 'Overall verdict, one series per verdict: 1 for the current one.', {}, 'verdict', lower, verdict.toLowerCase())
}

/** node_exporter textfile-collector metrics for the status result (labels named as node_exporter's ZFS collector names them). */
export function renderPrometheus(result: StatusResult): string {
  const out = new Exposition()
  checkMetrics(out, true, result.verdict, result.checkedAt)
  const verdicts = VERDICTS.map((value) => value.toLowerCase())
  for (const pool of result.pools) {
    const labels = {zpool: pool.name}
    out.addStates('lnstore_pool_verdict', 'Pool verdict, one series per verdict: 1 for the current one.', labels, 'verdict', verdicts, pool.verdict.toLowerCase())
    out.addStates('lnstore_pool_state', 'Pool state as zpool names it (mode chironfs: mounted), one series per state: 1 for the current one.', labels, 'state', POOL_STATES, pool.state.toLowerCase())
    if (pool.sizeBytes !== undefined) out.add('lnstore_pool_size_bytes', 'Pool size.', labels, pool.sizeBytes)
    if (pool.allocatedBytes !== undefined) out.add('lnstore_pool_allocated_bytes', 'Space allocated in the pool.', labels, pool.allocatedBytes)
    if (pool.capacityPercent !== null) out.add('lnstore_pool_capacity_ratio', 'Fraction of the pool in use.', labels, pool.capacityPercent / 100)
    if (pool.lastScrub) {
      out.add('lnstore_pool_last_scrub_timestamp_seconds', 'When the last completed scrub ended (Unix time).', labels, Math.floor(pool.lastScrub.endedAt / 1000))
      if (pool.lastScrub.durationSeconds !== undefined) out.add('lnstore_pool_last_scrub_duration_seconds', 'How long the last completed scrub ran.', labels, pool.lastScrub.durationSeconds)
      out.add('lnstore_pool_last_scrub_repaired_bytes', 'What the last completed scrub repaired from redundant copies.', labels, pool.lastScrub.repairedBytes ?? 0)
    }

    if (pool.errors?.count !== null && pool.errors?.count !== undefined) out.add('lnstore_pool_data_errors', 'Permanent data errors (damaged files or blocks).', labels, pool.errors.count)
    out.add('lnstore_pool_scan_in_progress', '1 while a scrub or resilver runs.', labels, pool.scan.state === 'in_progress' ? 1 : 0)
    const visit = (vdev: VdevView) => {
      if (vdev.verdict) {
        const device = {...labels, device: vdev.name}
        out.addStates('lnstore_device_verdict', 'Device verdict, one series per verdict: 1 for the current one.', device, 'verdict', verdicts, vdev.verdict.toLowerCase())
        for (const [kind, value] of [['read', vdev.read], ['write', vdev.write], ['checksum', vdev.cksum]] as const) {
          if (value !== null) out.add('lnstore_device_errors', 'Error counters as zpool shows them (reset by import, reboot, zpool clear).', {...device, type: kind}, value)
        }

        if (vdev.rates) out.add('lnstore_device_errors_last_day', 'New errors of any kind in the last 24 hours.', device, vdev.rates.lastDay)
      }

      vdev.children.forEach(visit)
    }

    pool.vdevs.forEach(visit)
  }

  return out.toString()
}

/** The metrics of a check that failed (zpool missing, not answering, not permitted): UNKNOWN, and `lnstore_check_success 0`. */
export function renderPrometheusFailure(checkedAt: number): string {
  const out = new Exposition()
  checkMetrics(out, false, 'UNKNOWN', checkedAt)
  return out.toString()
}
