import {EMPTY_SCAN, markSuspended, type Pool, type ScanInfo, type ScanKind, type StatusReport, type Vdev, type VdevRole} from './status-model.js'
import {StatusParseError, parseStatusText} from './status-text.js'
import {isAbbreviated, parseNiceNumber, parseZpoolDate} from '../storage/units.js'

/**
 * OpenZFS 2.3's `zpool status -j` output. Values are strings (`"5.83M"`, `"0"`) unless `--json-int`
 * was given, then integers; timestamps are ctime strings or epoch seconds likewise.
 */
type JsonValue = string | number | undefined
interface JsonVdev {
  name?: string
  vdev_type?: string
  guid?: JsonValue
  path?: string
  class?: string
  state?: string
  read_errors?: JsonValue
  write_errors?: JsonValue
  checksum_errors?: JsonValue
  was?: string
  aux?: string
  scan_processed?: JsonValue
  resilver_deferred?: JsonValue
  configured_ashift?: JsonValue
  physical_ashift?: JsonValue
  removing?: JsonValue
  noalloc?: JsonValue
  trim_notsup?: JsonValue
  vdevs?: Record<string, JsonVdev>
}
interface JsonScan {
  function?: string
  state?: string
  start_time?: JsonValue
  end_time?: JsonValue
  to_examine?: JsonValue
  examined?: JsonValue
  processed?: JsonValue
  issued?: JsonValue
  errors?: JsonValue
  pass_start?: JsonValue
  scrub_pause?: JsonValue
  scrub_spent_paused?: JsonValue
  issued_bytes_per_scan?: JsonValue
}
interface JsonPool {
  name?: string
  state?: string
  pool_guid?: JsonValue
  // The zpool-status(8) man page example prints the pool GUID as `guid`.
  guid?: JsonValue
  status?: string
  action?: string
  moreinfo?: string
  scan_stats?: JsonScan
  removal_stats?: Record<string, JsonValue>
  checkpoint_stats?: Record<string, JsonValue>
  raidz_expand_stats?: Record<string, JsonValue>
  vdevs?: Record<string, JsonVdev>
  logs?: Record<string, JsonVdev>
  special?: Record<string, JsonVdev>
  dedup?: Record<string, JsonVdev>
  l2cache?: Record<string, JsonVdev>
  spares?: Record<string, JsonVdev>
  error_count?: JsonValue
}

/** What `zpool status` prints after a device for each `aux` code, so both dialects carry the same notes. */
const AUX_NOTES: Record<string, string> = {
  OPEN_FAILED: 'cannot open',
  BAD_GUID_SUM: 'missing device',
  NO_REPLICAS: 'insufficient replicas',
  VERSION_NEWER: 'newer version',
  UNSUP_FEAT: 'unsupported feature(s)',
  ASHIFT_TOO_BIG: 'unsupported minimum blocksize',
  SPARED: 'currently in use',
  ERR_EXCEEDED: 'too many errors',
  IO_FAILURE: 'experienced I/O failures',
  BAD_LOG: 'bad intent log',
  EXTERNAL: 'external device fault',
  SPLIT_POOL: 'split into new pool',
  ACTIVE: 'currently in use',
  CHILDREN_OFFLINE: 'all children offline',
  BAD_LABEL: 'invalid label',
}

/** JSON prints the kernel's state names; text prints these (and some builds' docs say HEALTHY). */
const STATE_NAMES: Record<string, string> = {HEALTHY: 'ONLINE', CANT_OPEN: 'UNAVAIL', CLOSED: 'OFFLINE'}

const SECTIONS: [keyof JsonPool, VdevRole][] = [
  ['dedup', 'dedup'],
  ['special', 'special'],
  ['logs', 'log'],
  ['l2cache', 'cache'],
  ['spares', 'spare'],
]

/** `class` of a top-level vdev in the JSON (vdev_alloc_bias names). */
const CLASS_ROLES: Record<string, VdevRole> = {normal: 'data', special: 'special', dedup: 'dedup', log: 'log', logs: 'log', l2cache: 'cache', spare: 'spare'}

/** Reads either dialect: JSON when the input is a JSON object, otherwise text. */
export function parseStatus(input: string, now = Date.now()): StatusReport {
  const trimmed = input.trimStart()
  if (!trimmed.startsWith('{')) return parseStatusText(input)
  let doc: unknown
  try {
    doc = parseJsonKeepingBigIntegers(trimmed)
  } catch (error) {
    throw new StatusParseError(`the input looks like JSON but is not valid: ${(error as Error).message}`, null)
  }

  return parseStatusJson(doc, now)
}

/**
 * `--json-int` prints 64-bit GUIDs as bare JSON numbers, which `JSON.parse` rounds to the nearest
 * double (13796557190221630722 becomes 13796557190221631000). Integers beyond 2^53 are quoted
 * before parsing, so they arrive as their exact digits (strings); one regex pass, no dependency.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|(?<![\d.eE])-?\d{16,}(?![.eE\d])/g, (token) =>
    token.startsWith('"') || Number.isSafeInteger(Number(token)) ? token : `"${token}"`,
  )
  return JSON.parse(quoted)
}

export function parseStatusJson(doc: unknown, now = Date.now()): StatusReport {
  const pools = (doc as {pools?: unknown})?.pools
  if (typeof pools !== 'object' || pools === null) {
    throw new StatusParseError('the JSON has no "pools" object: it is not `zpool status -j` output', null)
  }

  return {pools: Object.entries(pools as Record<string, JsonPool>).map(([key, pool]) => readPool(key, pool, now)), allHealthy: false, dialect: 'json'}
}

function readPool(key: string, json: JsonPool, now: number): Pool {
  const name = json.name ?? key
  const scan = readScan(json.scan_stats, now)
  const counters = {exact: true}
  const toVdev = (entry: JsonVdev, entryName: string, role: VdevRole): Vdev => readVdev(entry, entryName, role, scan, counters)
  const root = json.vdevs?.[name] ?? Object.values(json.vdevs ?? {})[0]
  const sectioned = new Set(SECTIONS.flatMap(([section]) => Object.keys((json[section] as Record<string, JsonVdev> | undefined) ?? {})))
  // Top-level vdevs carry their allocation class: a special, dedup or log vdev listed in the root's
  // tree is not a data vdev (its loss loses the pool, but it is judged and shown in its section).
  const vdevs = Object.entries(root?.vdevs ?? {})
    .filter(([vdevName]) => !sectioned.has(vdevName))
    .map(([vdevName, vdev]) => toVdev(vdev, vdevName, CLASS_ROLES[vdev.class ?? 'normal'] ?? 'data'))
  for (const [section, role] of SECTIONS) {
    const entries = json[section] as Record<string, JsonVdev> | undefined
    for (const [vdevName, vdev] of Object.entries(entries ?? {})) vdevs.push(toVdev(vdev, vdevName, role))
  }

  const errorCount = count(json.error_count, counters)
  const pool: Pool = {
    name,
    state: normalizeState(json.state) ?? 'UNKNOWN',
    scan,
    errors: errorCount === null ? null : {count: errorCount, files: [], raw: errorCount === 0 ? 'No known data errors' : `${errorCount} data errors`},
    read: count(root?.read_errors, counters),
    write: count(root?.write_errors, counters),
    cksum: count(root?.checksum_errors, counters),
    vdevs,
    exactCounts: true,
    complete: root !== undefined,
    warnings: root === undefined ? ['the JSON has no vdev tree for this pool'] : [],
  }
  pool.exactCounts = counters.exact
  const poolGuid = json.pool_guid ?? json.guid
  if (poolGuid !== undefined) pool.guid = String(poolGuid)
  if (json.status) pool.status = json.status.trim()
  if (json.action) pool.action = json.action.trim()
  if (json.moreinfo) pool.see = json.moreinfo
  if (json.removal_stats) pool.remove = summarize(json.removal_stats)
  if (json.checkpoint_stats) pool.checkpoint = summarize(json.checkpoint_stats)
  if (json.raidz_expand_stats) pool.expand = summarize(json.raidz_expand_stats)
  markSuspended(pool)
  return pool
}

function readVdev(json: JsonVdev, name: string, role: VdevRole, scan: ScanInfo, counters: {exact: boolean}): Vdev {
  const children = Object.entries(json.vdevs ?? {}).map(([childName, child]) => readVdev(child, childName, role, scan, counters))
  const state = normalizeState(json.state)
  const vdev: Vdev = {
    name: json.name ?? name,
    state: state === 'UNAVAIL' && (json.aux === 'CORRUPT_DATA' || json.aux === 'BAD_LOG') ? 'FAULTED' : state,
    read: count(json.read_errors, counters),
    write: count(json.write_errors, counters),
    cksum: count(json.checksum_errors, counters),
    role,
    notes: notesOf(json, state, children.length === 0, scan),
    children,
  }
  if (json.guid !== undefined) vdev.guid = String(json.guid)
  if (json.path) vdev.path = json.path
  return vdev
}

/** Rebuilds the notes text status prints, from the JSON fields it prints them from. */
function notesOf(json: JsonVdev, state: string | null, leaf: boolean, scan: ScanInfo): string[] {
  const notes: string[] = []
  if (json.was) notes.push(`was ${json.was}`)
  else if (json.aux && json.aux !== 'NONE') notes.push(AUX_NOTES[json.aux] ?? 'corrupted data')
  else if (json.configured_ashift !== undefined && json.physical_ashift !== undefined) {
    notes.push(`block size: ${2 ** Number(json.configured_ashift)}B configured, ${2 ** Number(json.physical_ashift)}B native`)
  }

  if (json.removing !== undefined && Number(json.removing) !== 0) notes.push('(removing)')
  else if (json.noalloc !== undefined && Number(json.noalloc) !== 0) notes.push('(non-allocating)')
  if (leaf && state === 'ONLINE' && scan.state === 'in_progress') {
    if (parseNiceNumber(String(json.scan_processed ?? '0'))) notes.push(scan.kind === 'resilver' ? '(resilvering)' : '(repairing)')
    else if (json.resilver_deferred !== undefined && Number(json.resilver_deferred) !== 0) notes.push('(awaiting resilver)')
  }

  if (json.trim_notsup !== undefined && Number(json.trim_notsup) !== 0) notes.push('(trim unsupported)')
  return notes
}

function readScan(json: JsonScan | undefined, now: number): ScanInfo {
  if (!json || json.function === undefined || json.function === 'NONE') return EMPTY_SCAN
  const kind: ScanKind | null = json.function === 'RESILVER' ? 'resilver' : json.function === 'SCRUB' ? 'scrub' : null
  const startedAt = timestamp(json.start_time)
  const endedAt = timestamp(json.end_time)
  const pausedAt = timestamp(json.scrub_pause)
  const total = bytes(json.to_examine)
  const issued = bytes(json.issued)
  const scan: ScanInfo = {
    kind,
    state: null,
    percent: null,
    errors: null,
    raw: JSON.stringify(json),
    scannedBytes: bytes(json.examined),
    issuedBytes: issued,
    totalBytes: total,
    repairedBytes: bytes(json.processed),
    startedAt,
  }

  if (json.state === 'FINISHED') {
    Object.assign(scan, {state: 'finished', percent: 100, errors: count(json.errors, {exact: true}), endedAt})
    if (startedAt !== undefined && endedAt !== undefined) scan.durationSeconds = Math.round((endedAt - startedAt) / 1000)
  } else if (json.state === 'CANCELED') {
    Object.assign(scan, {state: 'canceled', endedAt})
  } else if (json.state === 'SCANNING') {
    scan.state = pausedAt === undefined ? 'in_progress' : 'paused'
    if (pausedAt !== undefined) scan.pausedAt = pausedAt
    if (total && issued !== undefined) scan.percent = Math.round((issued / total) * 10_000) / 100
    const passStart = Number(json.pass_start)
    const activeSeconds = now / 1000 - passStart - Number(json.scrub_spent_paused ?? 0)
    const passIssued = bytes(json.issued_bytes_per_scan)
    if (scan.state === 'in_progress' && passStart > 0 && activeSeconds > 0 && passIssued !== undefined && passIssued > 0) {
      scan.bytesPerSecond = Math.round(passIssued / activeSeconds)
      if (total !== undefined && issued !== undefined) scan.secondsToGo = Math.round((total - issued) / scan.bytesPerSecond)
    }
  }

  return scan
}

function normalizeState(state: string | undefined): string | null {
  return state === undefined ? null : STATE_NAMES[state] ?? state
}

function count(value: JsonValue, counters: {exact: boolean}): number | null {
  if (value === undefined) return null
  if (typeof value === 'number') return value
  if (isAbbreviated(value)) counters.exact = false
  return parseNiceNumber(value)
}

function bytes(value: JsonValue): number | undefined {
  if (value === undefined) return undefined
  return typeof value === 'number' ? value : parseNiceNumber(value) ?? undefined
}

/** Timestamps: ctime strings by default, epoch seconds with `--json-int`; `-`/0 mean "none". */
function timestamp(value: JsonValue): number | undefined {
  if (value === undefined || value === '-' || value === 0 || value === '0') return undefined
  if (typeof value === 'number') return value * 1000
  if (/^\d+$/.test(value)) return Number(value) * 1000
  return parseZpoolDate(value) ?? undefined
}

function summarize(stats: Record<string, JsonValue>): string {
  return Object.entries(stats)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')
}
