import {copyFile, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'

import {describeTree, sha256, type TreeEntry} from '../init/copy-tree.js'
import {findNodeDatabases, readDatabase, type DatabaseReading} from '../node/data-version.js'
import {notData} from './replicas.js'

/**
 * Do the replicas still hold the same data? ChironFS writes each file to every replica, but once
 * a write failed on one it disables that replica and never heals it: from then on it falls
 * behind, silently. And ChironFS keeps no checksums, so silent corruption of a replica goes
 * unseen. This compares the replicas' trees (type and size; where the modification time differs,
 * or in a full check always, the content's SHA-256) and, for the node's SQLite database, each
 * copy's `data_version` and integrity check.
 *
 * The node writes while we look, so one look can catch replicas between two writes: a
 * difference counts only when a second look, a moment later, still sees it, and a
 * data_version lag counts only when the replica behind has not caught up with where the others
 * were at the first look.
 */

export interface ReplicaLook {
  replica: string
  /** Null when the tree could not be read (then `error` says why). */
  entries: TreeEntry[] | null
  error?: string
  /** The node's database in this replica (first reading), or null when it has none. */
  database: DatabaseReading | null
  /** The database's data_version did not change while this replica was looked at. */
  databaseStable: boolean
}

export interface Difference {
  /** Relative to the replica root; '' is the root itself. */
  path: string
  kind: 'missing' | 'type' | 'size' | 'content'
  /** Replicas grouped by what they hold, so that the odd one out is visible. */
  groups: string[][]
  detail: string
}

export interface Look {
  replicas: ReplicaLook[]
  differences: Difference[]
  /** The database's path inside each replica, when there is one. */
  databasePath: string | null
}

/** SQLite's files beside the database only exist mid-transaction: their bytes say nothing about divergence. */
const SIDECARS = ['-journal', '-wal', '-shm']

/** One look at every replica. `full` hashes every file (scrub); otherwise only files whose time differs. */
export async function lookAtReplicas(replicas: string[], options: {full: boolean; integrity: boolean}): Promise<Look> {
  const databasePath = await databaseLocation(replicas)
  const looks = await Promise.all(
    replicas.map(async (replica): Promise<ReplicaLook> => {
      const dbFile = databasePath === null ? null : join(replica, databasePath)
      const read = async (quickCheck: boolean) => (dbFile ? readReplicaDatabase(dbFile, quickCheck).catch((error: Error) => ({path: dbFile, dataVersion: null, check: missing(error) ? 'missing' : `unreadable: ${error.message}`})) : null)
      try {
        const before = await read(options.integrity)
        const entries = await describeTree(replica, {hash: options.full, skip: notData})
        const after = await read(false)
        return {replica, entries, database: before, databaseStable: before?.dataVersion === after?.dataVersion}
      } catch (error) {
        return {replica, entries: null, error: (error as Error).message, database: null, databaseStable: false}
      }
    }),
  )
  const differences = await compareReplicaTrees(looks, databasePath, options.full)
  return {replicas: looks, differences, databasePath}
}

/**
 * Reads a replica's copy of the database. A replica ChironFS disabled in the middle of a
 * transaction keeps SQLite's hot journal, which a read-only reader may not roll back: then a
 * scratch copy (database and journal) is rolled back and read instead, which is what SQLite
 * itself would find there: the last transaction committed on that replica. The replica is not touched.
 */
export async function readReplicaDatabase(path: string, quickCheck: boolean): Promise<DatabaseReading> {
  try {
    return await readDatabase(path, {quickCheck})
  } catch (error) {
    if (!/readonly/i.test(String((error as {code?: string}).code)) && !/readonly database/i.test((error as Error).message)) throw error
  }

  const scratch = await mkdtemp(join(tmpdir(), 'lnstore-replica-db-'))
  try {
    const copy = join(scratch, 'copy.sqlite3')
    await copyFile(path, copy)
    await copyFile(`${path}-journal`, `${copy}-journal`).catch(() => {})
    const {default: Database} = await import('better-sqlite3')
    // Opening it writable and reading rolls the hot journal back, in the copy.
    const database = new Database(copy, {fileMustExist: true})
    database.prepare('SELECT count(*) FROM sqlite_master').get()
    database.close()
    const reading = await readDatabase(copy, {quickCheck})
    return {...reading, path}
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }
}

const missing = (error: Error) => (error as NodeJS.ErrnoException).code === 'SQLITE_CANTOPEN' || /unable to open|ENOENT|does not exist/i.test(error.message)

/** Where the node's database lives relative to the replica root, from the first replica that has one. */
async function databaseLocation(replicas: string[]): Promise<string | null> {
  for (const replica of replicas) {
    const {main} = await findNodeDatabases(replica).catch(() => ({main: null}))
    if (main && main.startsWith(`${replica}/`)) return relative(replica, main)
  }

  return null
}

/**
 * The differences between the readable replicas' trees. Sockets and SQLite's transaction files are
 * left out; the database file is compared byte for byte only where every copy held still and has
 * the same data_version (a lag is judged from data_version, not bytes).
 */
export async function compareReplicaTrees(looks: ReplicaLook[], databasePath: string | null, hashed: boolean): Promise<Difference[]> {
  const readable = looks.filter((look): look is ReplicaLook & {entries: TreeEntry[]} => look.entries !== null)
  if (readable.length < 2) return []
  const versions = new Set(readable.map((look) => look.database?.dataVersion ?? null))
  const databaseComparable = readable.every((look) => look.databaseStable) && versions.size === 1
  const ignored = (path: string) => databasePath !== null && (SIDECARS.some((suffix) => path === `${databasePath}${suffix}`) || (path === databasePath && !databaseComparable))
  const byPath = readable.map((look) => new Map(look.entries.filter((entry) => entry.type !== 'socket' && !ignored(entry.path)).map((entry) => [entry.path, entry])))
  const paths = [...new Set(byPath.flatMap((map) => [...map.keys()]))].sort()
  const differences: Difference[] = []
  for (const path of paths) {
    const entries = byPath.map((map) => map.get(path))
    const name = path || '(the replica root)'
    const group = (key: (entry: TreeEntry | undefined) => string) => {
      const groups = new Map<string, string[]>()
      entries.forEach((entry, index) => groups.set(key(entry), [...(groups.get(key(entry)) ?? []), readable[index].replica]))
      return [...groups.values()]
    }

    if (entries.some((entry) => !entry)) {
      const present = readable.filter((_, index) => entries[index]).map((look) => look.replica)
      differences.push({path, kind: 'missing', groups: group((entry) => (entry ? 'present' : 'missing')), detail: `${name} exists only in ${present.join(', ')}`})
      continue
    }

    const defined = entries as TreeEntry[]
    if (new Set(defined.map((entry) => entry.type)).size > 1) {
      differences.push({path, kind: 'type', groups: group((entry) => entry!.type), detail: `${name} is ${defined.map((entry) => `a ${entry.type}`).join(' / ')}`})
      continue
    }

    if (defined[0].type === 'symlink') {
      if (new Set(defined.map((entry) => entry.content)).size > 1) differences.push({path, kind: 'content', groups: group((entry) => entry!.content ?? ''), detail: `${name} points to different targets`})
      continue
    }

    if (defined[0].type !== 'file') continue
    if (new Set(defined.map((entry) => entry.size)).size > 1) {
      differences.push({path, kind: 'size', groups: group((entry) => String(entry!.size)), detail: `${name} has different sizes (${defined.map((entry) => entry.size).join(' / ')} bytes)`})
      continue
    }

    // Same size: the content decides. A quick look reads it only where the times differ.
    if (!hashed && new Set(defined.map((entry) => entry.mtime)).size === 1) continue
    const hashes = hashed ? defined.map((entry) => entry.content) : await Promise.all(readable.map((look) => sha256(join(look.replica, path)).catch(() => 'unreadable')))
    if (new Set(hashes).size > 1) {
      const groups = new Map<string, string[]>()
      hashes.forEach((hash, index) => groups.set(hash ?? '', [...(groups.get(hash ?? '') ?? []), readable[index].replica]))
      differences.push({path, kind: 'content', groups: [...groups.values()], detail: `${name} has the same size but different content`})
    }
  }

  return differences
}

const differenceKey = (difference: Difference) => `${difference.kind}|${difference.path}|${difference.groups.map((group) => [...group].sort().join(',')).sort().join(';')}`

/**
 * What two looks agree on: a difference counts only when the second look sees it again between
 * the same replicas. Readings are the second look's (the latest).
 */
export function confirmDifferences(first: Look, second: Look): Difference[] {
  const seen = new Set(first.differences.map(differenceKey))
  return second.differences.filter((difference) => seen.has(differenceKey(difference)))
}

/**
 * Replicas whose database is behind, confirmed by two looks: behind the others at the second look
 * and still short of the highest data_version the first look saw (a copy that caught up with
 * that is keeping up with a node that writes, not falling behind).
 */
export function confirmedLag(first: Look, second: Look): string[] {
  const highest = (look: Look) => Math.max(...look.replicas.map((replica) => replica.database?.dataVersion ?? -1))
  const before = highest(first)
  const now = highest(second)
  return second.replicas
    .filter((replica) => replica.database && (replica.database.dataVersion ?? -1) < now && (replica.database.dataVersion ?? -1) < before)
    .map((replica) => replica.replica)
}

export interface DivergenceOptions {
  full: boolean
  integrity: boolean
  /** Wait this long before the second look. */
  settleMs: number
  sleep?: (ms: number) => Promise<void>
}

export interface Divergence {
  differences: Difference[]
  /** Replicas whose database is behind (confirmed). */
  behind: string[]
  /** The latest look's readings per replica. */
  replicas: ReplicaLook[]
  databasePath: string | null
  looks: number
}

/** Looks at the replicas, and once more after `settleMs` when the first look saw anything, keeping only what both saw. */
export async function checkDivergence(replicas: string[], options: DivergenceOptions): Promise<Divergence> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const first = await lookAtReplicas(replicas, options)
  const laggards = (look: Look) => {
    const top = Math.max(...look.replicas.map((replica) => replica.database?.dataVersion ?? -1))
    return look.replicas.some((replica) => replica.database && (replica.database.dataVersion ?? -1) < top)
  }

  if (first.differences.length === 0 && !laggards(first)) {
    return {differences: [], behind: [], replicas: first.replicas, databasePath: first.databasePath, looks: 1}
  }

  await sleep(options.settleMs)
  const second = await lookAtReplicas(replicas, options)
  return {differences: confirmDifferences(first, second), behind: confirmedLag(first, second), replicas: second.replicas, databasePath: second.databasePath, looks: 2}
}
