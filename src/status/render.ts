import type {Finding, Verdict} from '../storage/verdict.js'
import type {ScanInfo, VdevRole} from '../zfs/status-model.js'
import {formatBytes, formatDuration} from '../storage/units.js'
import type {PoolView, StatusResult, VdevView} from '../storage/view.js'

const COLORS: Record<Verdict, number> = {OK: 32, WARNING: 33, CRITICAL: 31, UNKNOWN: 35}

/** The one-screen human view of `lnstore status`: a tree with the bad parts marked, colours only when asked. */
export function renderStatus(result: StatusResult, options: {color: boolean; now: number; renderPool?: (pool: PoolView, paint: Paint, now: number) => string[]}): string {
  const paint = (verdict: Verdict, text: string) => (options.color ? `\u001B[${COLORS[verdict]}m${text}\u001B[0m` : text)
  const [summary, perfdata] = nagiosSummary(result)
  const lines: string[] = [`${paint(result.verdict, result.verdict)}: ${summary}${perfdata ? ` | ${perfdata}` : ''}`]
  for (const finding of result.findings) lines.push(...renderFinding(finding, '  ', paint))
  for (const pool of result.pools) lines.push('', ...(options.renderPool ?? renderPool)(pool, paint, options.now))
  return lines.join('\n')
}

const SUMMARY_LENGTH = 240
const RANK: Record<Verdict, number> = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}

/**
 * The first line as monitoring plugins print it (Nagios plugin guidelines): the reason, then
 * performance data after `|`. `CRITICAL: tank: vdc OFFLINE, mirror-0 has no redundant copy left`.
 */
export function nagiosSummary(result: StatusResult): [summary: string, perfdata: string] {
  const short = (finding: Finding) => finding.message.split(/: |; |\. /)[0]
  const reasons: string[] = result.findings.filter((finding) => finding.verdict === result.verdict && finding.verdict !== 'OK').map(short)
  for (const pool of result.pools) {
    if (pool.verdict === 'OK') continue
    const devices: string[] = []
    const walk = (vdevs: VdevView[]) => {
      for (const vdev of vdevs) {
        if (vdev.verdict && RANK[vdev.verdict] >= RANK[pool.verdict]) {
          const errors = (vdev.read ?? 0) + (vdev.write ?? 0) + (vdev.cksum ?? 0)
          devices.push(vdev.state && vdev.state !== 'ONLINE' && vdev.state !== 'AVAIL' ? `${vdev.name} ${vdev.state}` : errors > 0 ? `${vdev.name} ${errors} errors` : `${vdev.name} ${short(vdev.findings?.[0] ?? {verdict: 'OK', message: vdev.verdict})}`)
        }

        walk(vdev.children)
      }
    }

    walk(pool.vdevs)
    const own = pool.findings.filter((finding) => finding.verdict === pool.verdict).map(short)
    reasons.push(`${pool.name}: ${[...new Set([...devices, ...own])].join(', ') || pool.state}`)
  }

  if (reasons.length === 0) reasons.push(result.pools.length === 0 ? 'nothing to check' : `${result.pools.map((pool) => `${pool.name} ${pool.state}`).join(', ')}`)
  let summary = reasons.join('; ')
  if (summary.length > SUMMARY_LENGTH) summary = `${summary.slice(0, SUMMARY_LENGTH - 1)}…`
  // `|` separates the performance data: it must not appear in the text.
  return [summary.replaceAll('|', '/'), perfdata(result)]
}

/** Per pool: capacity, device error counters, permanent data errors. */
function perfdata(result: StatusResult): string {
  return result.pools
    .flatMap((pool) => {
      const label = (what: string) => `'${pool.name.replaceAll("'", '')}_${what}'`
      const items: string[] = []
      if (pool.capacityPercent !== null) items.push(`${label('capacity')}=${pool.capacityPercent}%;;;0;100`)
      let errors = 0
      const walk = (vdevs: VdevView[]) => {
        for (const vdev of vdevs) {
          if (vdev.children.length === 0) errors += (vdev.read ?? 0) + (vdev.write ?? 0) + (vdev.cksum ?? 0)
          walk(vdev.children)
        }
      }

      walk(pool.vdevs)
      items.push(`${label('device_errors')}=${errors};;;0`)
      if (pool.errors?.count !== null && pool.errors?.count !== undefined) items.push(`${label('data_errors')}=${pool.errors.count};;;0`)
      return items
    })
    .join(' ')
}

/** The section names zpool prints. */
const SECTION_LABELS: Record<VdevRole, string> = {data: '', log: 'logs', cache: 'cache', spare: 'spares', special: 'special', dedup: 'dedup'}

export type Paint = (verdict: Verdict, text: string) => string

function renderPool(pool: PoolView, paint: Paint, now: number): string[] {
  const facts = [
    pool.capacityPercent === null ? null : `${pool.capacityPercent}% full`,
    pool.lastScrub ? `last scrub ${formatDuration((now - pool.lastScrub.endedAt) / 1000)} ago, repaired ${formatBytes(pool.lastScrub.repairedBytes ?? 0)}` : 'no scrub on record',
  ].filter(Boolean)
  const lines = [`pool ${pool.name}  ${pool.state}  ${paint(pool.verdict, pool.verdict)}  (${facts.join('; ')})`]
  const scan = describeScan(pool.scan)
  if (scan) lines.push(`  scan: ${scan}`)

  const rows: [string, VdevView | null][] = [[pool.name, null]]
  const walk = (vdevs: VdevView[], depth: number, role: string) => {
    for (const vdev of vdevs) {
      if (vdev.role !== role) {
        role = vdev.role
        rows.push([`${'  '.repeat(depth)}${SECTION_LABELS[vdev.role]}`, null])
      }

      rows.push([`${'  '.repeat(depth + 1)}${vdev.name}`, vdev])
      walk(vdev.children, depth + 1, vdev.role)
    }
  }

  walk(pool.vdevs, 0, 'data')
  const width = Math.max(...rows.map(([label]) => label.length)) + 2
  const count = (value: number | null) => (value === null ? '' : String(value)).padStart(6)
  lines.push(`  ${'NAME'.padEnd(width)}${'STATE'.padEnd(10)}${'  READ'}${' WRITE'}${' CKSUM'}`)
  for (const [label, vdev] of rows) {
    const root = label === pool.name
    const state = root ? pool.state : vdev?.state ?? ''
    const counts = root ? [pool.read, pool.write, pool.cksum] : vdev ? [vdev.read, vdev.write, vdev.cksum] : [null, null, null]
    let line = `  ${label.padEnd(width)}${state.padEnd(10)}${vdev || root ? counts.map(count).join('') : ''}`
    if (vdev?.notes.length) line += `  ${vdev.notes.join('  ')}`
    if (vdev?.verdict && vdev.verdict !== 'OK') line += `  ${paint(vdev.verdict, vdev.verdict)}`
    lines.push(line.trimEnd())
  }

  return [...lines, ...renderPoolFindings(pool, rows.flatMap(([, vdev]) => (vdev ? [vdev] : [])), paint)]
}

/** The pool's findings, then each device's, prefixed with its name. */
export function renderPoolFindings(pool: PoolView, devices: VdevView[], paint: Paint): string[] {
  const lines: string[] = []
  const deviceFindings = devices.flatMap((vdev) => (vdev.findings ?? []).map((finding) => ({...finding, message: `${vdev.name}: ${finding.message}`})))
  const findings = [...pool.findings, ...deviceFindings]
  if (findings.length > 0) lines.push('')
  for (const finding of findings) lines.push(...renderFinding(finding, '  ', paint))
  for (const warning of pool.warnings) lines.push(`  note: ${warning}`)
  return lines
}

function renderFinding(finding: Finding, indent: string, paint: Paint): string[] {
  const lines = [`${indent}${paint(finding.verdict, finding.verdict.padEnd(8))} ${finding.message}`]
  if (finding.next) lines.push(`${indent}${' '.repeat(9)}next: ${finding.next}`)
  return lines
}

export function describeScan(scan: ScanInfo): string | null {
  if (!scan.kind) return null
  const parts: string[] = [`${scan.kind} ${scan.state?.replace('_', ' ') ?? ''}`.trim()]
  if (scan.percent !== null && scan.state !== 'finished') parts.push(`${scan.percent}% done`)
  if (scan.bytesPerSecond !== undefined) parts.push(`${formatBytes(scan.bytesPerSecond)}/s`)
  if (scan.secondsToGo !== undefined) parts.push(`${formatDuration(scan.secondsToGo)} to go`)
  if (scan.state === 'finished') {
    parts.push(`${scan.kind === 'resilver' ? 'resilvered' : 'repaired'} ${formatBytes(scan.repairedBytes ?? 0)}`, `${scan.errors ?? 0} errors`)
    if (scan.endedAt !== undefined) parts.push(`on ${new Date(scan.endedAt).toISOString().slice(0, 16).replace('T', ' ')}`)
  }

  return parts.join(', ')
}
