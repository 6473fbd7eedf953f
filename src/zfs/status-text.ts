import {parseScanText} from './scan.js'
import {EMPTY_SCAN, markSuspended, walkVdevs, type DataErrors, type Pool, type StatusReport, type Vdev, type VdevRole} from './status-model.js'
import {isAbbreviated, parseNiceNumber, parseZpoolDate} from '../storage/units.js'

/** Input that is not `zpool status` output at all; names the line it could not read. */
export class StatusParseError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(message)
    this.name = 'StatusParseError'
  }
}

const HEADER = /^\s*(pool|id|state|status|action|see|scan|scrub|remove|checkpoint|expand|comment|config|errors|dedup):(?:[ \t]+(.*))?$/
const SECTION_ROLES: Record<string, VdevRole> = {logs: 'log', cache: 'cache', spares: 'spare', special: 'special', dedup: 'dedup'}
const STATE_WORD = /^[A-Z][A-Z_]+$/

type Block = 'header' | 'config' | 'errors' | 'ignored'

interface Row {
  depth: number
  name: string
  state: string | null
  counters: (string | null)[]
  notes: string[]
}

/** Reads `zpool status` text of any dialect (OpenZFS 0.6-2.3, FreeBSD, illumos, zfs-fuse) into the typed model. */
export function parseStatusText(text: string): StatusReport {
  if (/[\u0000-\u0008\u000E-\u001A\u001C-\u001F]/.test(text)) {
    throw new StatusParseError('the input contains binary data, not zpool status output', null)
  }

  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  const nonEmpty = lines.map((line, index) => ({line: line.trimEnd(), index})).filter(({line}) => line.trim() !== '')
  if (nonEmpty.length === 0) throw new StatusParseError('the input is empty', null)

  const only = nonEmpty.length === 1 ? nonEmpty[0].line.trim() : null
  if (only === 'no pools available') return {pools: [], allHealthy: false, dialect: 'text'}
  if (only === 'all pools are healthy' || (only && /^pool '.+' is healthy$/.test(only))) {
    return {pools: [], allHealthy: true, dialect: 'text'}
  }

  const reader = new PoolReader()
  for (const [index, line] of lines.entries()) reader.read(line.trimEnd(), index + 1)
  const pools = reader.finish()
  if (pools.length === 0) {
    const first = nonEmpty[0]
    throw new StatusParseError(`line ${first.index + 1} is not zpool status output: "${first.line.trim().slice(0, 80)}"`, first.index + 1)
  }

  return {pools, allHealthy: false, dialect: 'text'}
}

class PoolReader {
  private pools: Pool[] = []
  private pool: Pool | null = null
  private block: Block = 'header'
  private field: string | null = null
  private fields = new Map<string, string>()
  private rows: Row[] = []
  private tableIndent: number | null = null
  private counterColumns = 3
  private tableEnded = false
  private sawErrors = false
  private preamble: string[] = []

  read(line: string, lineNumber: number): void {
    if (line.trim() === '') {
      if (this.block === 'config' && this.rows.length > 0) this.tableEnded = true
      if (this.block === 'header' || this.block === 'ignored') this.field = null
      return
    }

    const header = HEADER.exec(line)
    if (header) {
      this.readHeader(header[1], header[2] ?? '', lineNumber)
      return
    }

    if (!this.pool) {
      // `zpool status -T d` prints a date before the first pool.
      if (parseZpoolDate(line) === null) this.preamble.push(`line ${lineNumber}: ${line.trim()}`)
      return
    }

    const indented = /^\s/.test(line)
    if (this.block === 'config' && indented && !this.tableEnded) {
      this.readTableLine(line, lineNumber)
    } else if (this.block === 'errors') {
      // The permanent-error file list; Solaris prints it without indentation.
      this.pool.errors?.files.push(line.trim())
    } else if (this.block === 'header' && indented && this.field) {
      this.fields.set(this.field, `${this.fields.get(this.field)}\n${line.trim()}`)
    } else if (this.block !== 'ignored') {
      this.pool.warnings.push(`line ${lineNumber}: not understood: ${line.trim()}`)
    }
  }

  finish(): Pool[] {
    this.closePool()
    if (this.pools.length > 0 && this.preamble.length > 0) this.pools[0].warnings.unshift(...this.preamble)
    return this.pools
  }

  private readHeader(key: string, value: string, lineNumber: number): void {
    if (key === 'pool') {
      this.closePool()
      this.pool = {
        name: value.trim(),
        state: 'UNKNOWN',
        scan: EMPTY_SCAN,
        errors: null,
        read: null,
        write: null,
        cksum: null,
        vdevs: [],
        exactCounts: true,
        complete: false,
        warnings: [],
      }
      this.block = 'header'
      return
    }

    if (!this.pool) {
      this.preamble.push(`line ${lineNumber}: ${key}: ${value}`)
      return
    }

    this.field = null
    if (key === 'config') {
      this.block = 'config'
    } else if (key === 'errors') {
      this.block = 'errors'
      this.sawErrors = true
      this.pool.errors = readErrorsLine(value)
    } else if (key === 'dedup') {
      // `zpool status -D` prints a dedup table summary and histogram: not part of health.
      this.block = 'ignored'
    } else {
      this.block = 'header'
      this.field = key
      this.fields.set(key, value.trim())
    }
  }

  private readTableLine(line: string, lineNumber: number): void {
    const indent = indentWidth(line)
    const tokens = [...line.matchAll(/\S+/g)]
    if (tokens[0][0] === 'NAME' && tokens[1]?.[0] === 'STATE') {
      this.tableIndent = indent
      this.counterColumns = tokens.length - 2
      return
    }

    this.tableIndent ??= indent
    const offset = indent - this.tableIndent
    if (offset < 0 || offset % 2 !== 0) {
      this.pool!.warnings.push(`line ${lineNumber}: unexpected indentation: ${line.trim()}`)
    }

    const row: Row = {depth: Math.max(0, Math.round(offset / 2)), name: tokens[0][0], state: null, counters: [], notes: []}
    let next = 1
    if (tokens[next] && STATE_WORD.test(tokens[next][0])) row.state = tokens[next++][0]
    while (row.counters.length < this.counterColumns && tokens[next] && /^(\d[\d.,]*[KMGTPEZ]?|-)$/.test(tokens[next][0])) {
      row.counters.push(tokens[next++][0])
    }

    if (tokens[next]) {
      row.notes = line
        .slice(tokens[next].index)
        .split(/\s{2,}/)
        .map((note) => note.trim())
        .filter(Boolean)
    }

    this.rows.push(row)
  }

  private closePool(): void {
    const pool = this.pool
    if (!pool) return
    for (const [key, value] of this.fields) {
      switch (key) {
        case 'id':
        case 'status':
        case 'action':
        case 'see':
        case 'remove':
        case 'checkpoint':
        case 'expand':
          pool[key] = value
          break
        case 'state':
          pool.state = value.trim()
          break
        case 'scan':
        case 'scrub': {
          const scan = parseScanText(value)
          if (scan) pool.scan = scan
          else pool.warnings.push(`scan line not understood: ${value.split('\n')[0]}`)
          break
        }
      }
    }

    buildTree(pool, this.rows)
    addRepairedFromNotes(pool)
    const isImportListing = pool.id !== undefined
    pool.complete = this.rows.length > 0 && (this.sawErrors || isImportListing)
    if (!pool.complete) pool.warnings.push('the output ends before the pool is complete (truncated?)')
    if (pool.errors && pool.errors.files.length > 0) pool.errors.count = pool.errors.files.length
    markSuspended(pool)

    this.pools.push(pool)
    this.pool = null
    this.fields = new Map()
    this.rows = []
    this.tableIndent = null
    this.tableEnded = false
    this.sawErrors = false
    this.field = null
    this.block = 'header'
  }
}

function buildTree(pool: Pool, rows: Row[]): void {
  const stack: Vdev[] = []
  let role: VdevRole = 'data'
  for (const [index, row] of rows.entries()) {
    const counts = row.counters.slice(0, 3).map((text) => (text === null || text === '-' ? null : parseNiceNumber(text)))
    if (row.counters.some((text) => text !== null && text !== '-' && isAbbreviated(text))) pool.exactCounts = false
    const [read = null, write = null, cksum = null] = counts

    if (index === 0 && row.depth === 0) {
      if (row.name !== pool.name) pool.warnings.push(`first config row is "${row.name}", not the pool name`)
      Object.assign(pool, {read, write, cksum})
      continue
    }

    // Section headers; Solaris prints counters and a note on `logs` too ("logs FAULTED 0 0 0 bad intent log").
    if (row.depth === 0 && row.name in SECTION_ROLES) {
      role = SECTION_ROLES[row.name]
      stack.length = 0
      continue
    }

    const vdev: Vdev = {name: row.name, state: row.state, read, write, cksum, role, notes: row.notes, children: []}
    if (row.name.startsWith('/')) vdev.path = row.name
    const depth = Math.max(1, row.depth)
    const parent = stack[depth - 1]
    if (depth === 1 || !parent) {
      if (depth > 1) pool.warnings.push(`"${row.name}" has no parent at depth ${depth - 1}; kept at the top level`)
      pool.vdevs.push(vdev)
      stack.length = 1
      stack[1] = vdev
    } else {
      parent.children.push(vdev)
      stack.length = depth
      stack[depth] = vdev
    }
  }
}

/** zfs-fuse and Solaris print what a scrub repaired per device ("35.1M repaired"), not on the scan line. */
function addRepairedFromNotes(pool: Pool): void {
  if (pool.scan.kind !== 'scrub' || pool.scan.repairedBytes !== undefined) return
  const repaired = [...walkVdevs(pool.vdevs)].flatMap((vdev) => vdev.notes.map((note) => /^(\S+) repaired$/.exec(note)?.[1])).filter((size) => size !== undefined)
  if (repaired.length > 0) pool.scan = {...pool.scan, repairedBytes: repaired.reduce((sum, size) => sum + (parseNiceNumber(size) ?? 0), 0)}
}

function readErrorsLine(value: string): DataErrors {
  const raw = value.trim()
  if (raw === 'No known data errors') return {count: 0, files: [], raw}
  const counted = /^(\d+) data errors?/.exec(raw)
  return {count: counted ? Number(counted[1]) : null, files: [], raw}
}

function indentWidth(line: string): number {
  let width = 0
  for (const char of line) {
    if (char === '\t') width += 8 - (width % 8)
    else if (char === ' ') width++
    else break
  }

  return width
}
