import {existsSync, readFileSync, readdirSync, statSync, type Stats} from 'node:fs'
import {copyFile, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {openDatabase} from './sqlite.js'

/**
 * Core Lightning's freshness counter. Its database keeps `data_version` in the `vars` table and
 * increases it with every committed change, so a copy with a lower value is older than what the
 * node last wrote: starting on it could broadcast a revoked channel state.
 */

export interface DatabaseReading {
  path: string
  /** null when the database has no data_version yet (an empty or brand-new node). */
  dataVersion: number | null
  /** SQLite's `PRAGMA quick_check`: "ok", what it found wrong, or "not run". */
  check: string
  /** The node id the database belongs to (`vars.node_id`, hex), when it records one. */
  nodeId?: string
}

/**
 * Reads data_version and runs quick_check, read-only, never creating or changing the file. A running
 * node may hold a write lock for a moment: wait for it rather than fail.
 */
export async function readDatabase(path: string, options: {quickCheck?: boolean} = {}): Promise<DatabaseReading> {
  for (let attempt = 1; ; attempt++) {
    const before = statOrNull(path)
    const reading = await readOnce(path, options)
    const sound = (reading.check === 'ok' || reading.check === 'not run') && reading.dataVersion !== null
    if (sound || attempt >= TORN_READ_ATTEMPTS) return reading
    // A failed check, or no data_version, in a file that changed while it was read may be a torn
    // read, not damage: a ChironFS replica is written behind SQLite's locks (the node locks the
    // file on the mount, not the replica's).
    const after = statOrNull(path)
    if (!before || !after || (before.mtimeMs === after.mtimeMs && before.size === after.size)) return reading
  }
}

const TORN_READ_ATTEMPTS = 5

/**
 * The node's files are looked at with node:fs's synchronous calls, as SQLite (synchronous) reads
 * them right after: an asynchronous call would wait on the same storage, at the cost of a file
 * handle, a thread-pool round trip and a promise each (and, on the start gate's path, the load of
 * node:fs/promises and the start of libuv's thread pool).
 */
const statOrNull = (path: string) => orElse<Stats | null>(() => statSync(path), null)

async function readOnce(path: string, options: {quickCheck?: boolean}): Promise<DatabaseReading> {
  try {
    return await readDatabaseAsItIs(path, options)
  } catch (error) {
    if (!/readonly/i.test(String((error as {code?: string}).code)) && !/readonly database/i.test((error as Error).message)) throw error
  }

  return readRolledBackCopy(path, options)
}

/**
 * A database left in the middle of a transaction (the node killed or the power cut mid-write; a
 * ChironFS replica disabled mid-write) keeps SQLite's hot journal, which a read-only reader may
 * not roll back ("attempt to write a readonly database"). Then a scratch copy (database and
 * journal) is rolled back and read instead: what SQLite itself will find there, the last committed
 * transaction. The file itself is not touched.
 */
async function readRolledBackCopy(path: string, options: {quickCheck?: boolean}): Promise<DatabaseReading> {
  const scratch = await mkdtemp(join(tmpdir(), 'lnstore-db-'))
  try {
    const copy = join(scratch, 'copy.sqlite3')
    await copyFile(path, copy)
    await copyFile(`${path}-journal`, `${copy}-journal`).catch(() => {})
    // Opening it writable and reading rolls the hot journal back, in the copy.
    const database = await openDatabase(copy, {fileMustExist: true})
    database.prepare('SELECT count(*) FROM sqlite_master').get()
    database.close()
    return {...(await readDatabaseAsItIs(copy, options)), path}
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

async function readDatabaseAsItIs(path: string, options: {quickCheck?: boolean}): Promise<DatabaseReading> {
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined
  try {
    database = await openDatabase(path, {readonly: true, fileMustExist: true, timeout: 10_000})
    // quick_check reads the whole file: the start gate runs it, frequent status checks skip it.
    const check = options.quickCheck === false ? 'not run' : (database.pragma('quick_check') as {quick_check: string}[]).map((row) => row.quick_check).join('; ')
    const hasVars = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vars'").get() !== undefined
    const row = hasVars ? (database.prepare("SELECT intval FROM vars WHERE name = 'data_version'").get() as {intval: number | bigint | null} | undefined) : undefined
    // The in-repo stand-in's vars table has no blobval column.
    const hasBlobs = hasVars && (database.pragma('table_info(vars)') as {name: string}[]).some((column) => column.name === 'blobval')
    const nodeId = hasBlobs ? (database.prepare("SELECT blobval FROM vars WHERE name = 'node_id'").get() as {blobval?: unknown} | undefined)?.blobval : undefined
    return {path, dataVersion: row?.intval === undefined || row.intval === null ? null : Number(row.intval), check, ...(Buffer.isBuffer(nodeId) ? {nodeId: nodeId.toString('hex')} : {})}
  } catch (error) {
    const code = (error as {code?: string}).code ?? ''
    // A damaged file is a finding about the data, not a failure to look; so is one the storage
    // cannot read back (ZFS answers EIO for a block with no good copy left: SQLITE_IOERR_*).
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return {path, dataVersion: null, check: `unreadable: ${(error as Error).message}`}
    if (code.startsWith('SQLITE_IOERR')) return {path, dataVersion: null, check: `unreadable: ${(error as Error).message} (${code}: the storage returned a read error)`}
    if (code === 'SQLITE_BUSY') throw new Error(`${path} stayed locked for 10 s: is the node running? (check it before the node starts)`)
    throw error
  } finally {
    database?.close()
  }
}

export interface NodeDatabases {
  /** The node's database; null when there is none yet (a brand-new node). */
  main: string | null
  /** The second copy Core Lightning keeps with `wallet=sqlite3://main:backup`, or null. */
  backup: string | null
}

const NETWORKS = ['bitcoin', 'testnet', 'testnet4', 'signet', 'regtest']

/**
 * Where a Core Lightning data directory keeps its database: the `wallet=` line of its config file
 * when there is one, else <dir>/<network>/lightningd.sqlite3. With `network`, only that network's
 * folder counts, as for the node itself: a renamed folder beside it is not what the node opens.
 */
export async function findNodeDatabases(dataDir: string, network?: string): Promise<NodeDatabases> {
  const entries = orElse(() => readdirSync(dataDir), [] as string[])
  const networks = network ? [network] : [...NETWORKS, ...entries.filter((entry) => !NETWORKS.includes(entry))].filter((name) => entries.includes(name))
  for (const config of [join(dataDir, 'config'), ...networks.map((network) => join(dataDir, network, 'config'))]) {
    const wallet = /^\s*wallet\s*=\s*sqlite3:\/\/(.+?)\s*$/m.exec(orElse(() => readFileSync(config, 'utf8'), ''))?.[1]
    if (wallet) {
      const [main, backup] = wallet.split(':').map((path) => (path.startsWith('/') ? path : join(dirname(config), path)))
      return {main, backup: backup ?? null}
    }
  }

  for (const network of networks) {
    const candidate = join(dataDir, network, 'lightningd.sqlite3')
    if (existsSync(candidate)) return {main: candidate, backup: null}
  }

  return {main: null, backup: null}
}

/** What `read` returns, or `otherwise` when it throws (a file or folder that is not there, or not readable). */
function orElse<T>(read: () => T, otherwise: T): T {
  try {
    return read()
  } catch {
    return otherwise
  }
}
