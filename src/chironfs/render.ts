import {renderPoolFindings, type Paint} from '../status/render.js'
import type {PoolView} from '../storage/view.js'
import {formatDuration} from '../storage/units.js'

/** The ChironFS mount and its replicas, in place of a pool's device tree: state, data_version, notes. */
export function renderChironfsPool(pool: PoolView, paint: Paint, now: number): string[] {
  const scrub = pool.lastScrub ? `last full comparison ${formatDuration((now - pool.lastScrub.endedAt) / 1000)} ago` : 'no full comparison on record'
  const lines = [`chironfs  ${pool.state}  ${paint(pool.verdict, pool.verdict)}  (${[pool.capacityPercent === null ? null : `fullest replica ${pool.capacityPercent}%`, scrub].filter(Boolean).join('; ')})`]
  const width = Math.max(7, ...pool.vdevs.map((vdev) => vdev.name.length)) + 2
  lines.push(`  ${'REPLICA'.padEnd(width)}${'STATE'.padEnd(13)}NOTES`)
  for (const vdev of pool.vdevs) {
    const verdict = vdev.verdict && vdev.verdict !== 'OK' ? `  ${paint(vdev.verdict, vdev.verdict)}` : ''
    lines.push(`  ${vdev.name.padEnd(width)}${(vdev.state ?? '').padEnd(13)}${vdev.notes.join(', ')}${verdict}`.trimEnd())
  }

  return [...lines, ...renderPoolFindings(pool, pool.vdevs, paint)]
}
