import type {Verdict} from '../storage/verdict.js'
import type {StatusResult, VdevView} from '../storage/view.js'

const VERDICT_VALUE: Record<Verdict, number> = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}

/** node_exporter textfile-collector metrics for the status result. */
export function renderPrometheus(result: StatusResult): string {
  const metrics = new Map<string, {help: string; type: string; samples: string[]}>()
  const add = (name: string, help: string, labels: Record<string, string>, value: number, type = 'gauge') => {
    const metric = metrics.get(name) ?? {help, type, samples: []}
    const labelText = Object.entries(labels)
      .map(([key, label]) => `${key}="${label.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
      .join(',')
    metric.samples.push(`${name}${labelText ? `{${labelText}}` : ''} ${value}`)
    metrics.set(name, metric)
  }

  add('lnstore_verdict', 'Overall verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.', {}, VERDICT_VALUE[result.verdict])
  add('lnstore_last_check_timestamp_seconds', 'When lnstore last read the pools.', {}, Math.floor(result.checkedAt / 1000))
  for (const pool of result.pools) {
    const labels = {pool: pool.name}
    add('lnstore_pool_verdict', 'Pool verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.', labels, VERDICT_VALUE[pool.verdict])
    add('lnstore_pool_online', '1 when the pool state is ONLINE (mode chironfs: ChironFS is mounted).', labels, pool.state === 'ONLINE' || pool.state === 'MOUNTED' ? 1 : 0)
    if (pool.capacityPercent !== null) add('lnstore_pool_capacity_ratio', 'Fraction of the pool in use.', labels, pool.capacityPercent / 100)
    if (pool.lastScrub) add('lnstore_pool_last_scrub_timestamp_seconds', 'When the last completed scrub ended.', labels, Math.floor(pool.lastScrub.endedAt / 1000))
    if (pool.errors?.count !== null && pool.errors?.count !== undefined) add('lnstore_pool_data_errors', 'Permanent data errors.', labels, pool.errors.count)
    add('lnstore_pool_scan_in_progress', '1 while a scrub or resilver runs.', labels, pool.scan.state === 'in_progress' ? 1 : 0)
    const visit = (vdev: VdevView) => {
      if (vdev.verdict) {
        const device = {...labels, device: vdev.name}
        add('lnstore_device_verdict', 'Device verdict: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.', device, VERDICT_VALUE[vdev.verdict])
        for (const [kind, value] of [['read', vdev.read], ['write', vdev.write], ['checksum', vdev.cksum]] as const) {
          if (value !== null) add('lnstore_device_errors', 'Error counters as zpool shows them (reset by import, reboot, zpool clear).', {...device, type: kind}, value)
        }

        if (vdev.rates) add('lnstore_device_errors_last_day', 'New errors of any kind in the last 24 hours.', device, vdev.rates.lastDay)
      }

      vdev.children.forEach(visit)
    }

    pool.vdevs.forEach(visit)
  }

  return [...metrics.entries()].map(([name, {help, type, samples}]) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join('\n')).join('\n') + '\n'
}
