import {realpath} from 'node:fs/promises'
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
 * difference counts only when later looks within the settle window still see it, and a
 * data_version lag only when the replica behind has not caught up with where the others were at
 * the first look. Nothing is waited for when the first look sees nothing; a look that sees the
 * difference gone ends the check at once; and what ChironFS disabled is confirmed at once (a
 * disabled replica gets no write until it is remounted, so its lag cannot close).
 */

/** What lnstore last verified of a file (init, heal, a clean scrub): a copy still like this was not touched since. */
export interface VerifiedFile {
  size: number
  /** Whole seconds, as TreeEntry. */
  mtime: number
  sha256: string
}

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
  /**
   * Replicas whose copy is still exactly what lnstore last verified (same size, time and SHA-256)
   * while another's is not: that other copy was changed behind ChironFS. Absent when unknown.
   */
  intact?: string[]
}

export interface Look {
  replicas: ReplicaLook[]
  differences: Difference[]
  /** The database's path inside each replica, when there is one. */
  databasePath: string | null
}

/** SQLite's files beside the database only exist mid-transaction: their bytes say nothing about divergence. */
const SIDECARS = ['-journal', '-wal', '-shm']

export interface LookOptions {
  full: boolean
  integrity: boolean
  /** Files a full comparison found different: a quick look hashes them too, so that it sees what the scrub saw. */
  suspects?: string[]
  /** lnstore's last verified record of each file, by path relative to the replica root. */
  verified?: Record<string, VerifiedFile>
}

/** One look at every replica. `full` hashes every file (scrub); otherwise only files whose time differs, and the suspects. */
export async function lookAtReplicas(replicas: string[], options: LookOptions): Promise<Look> {
  const databasePath = await databaseLocation(replicas)
  const looks = await Promise.all(
    replicas.map(async (replica): Promise<ReplicaLook> => {
      const dbFile = databasePath === null ? null : join(replica, databasePath)
      const read = async (quickCheck: boolean) => (dbFile ? readDatabase(dbFile, {quickCheck}).catch((error: Error) => ({path: dbFile, dataVersion: null, check: missing(error) ? 'missing' : `unreadable: ${error.message}`})) : null)
      try {
        const before = await read(options.integrity)
        // The tree below the replica's real path: a replica given through a symlink is a directory, not a link.
        const entries = await describeTree(await realpath(replica).catch(() => replica), {hash: options.full, skip: notData})
        const after = await read(false)
        return {replica, entries, database: before, databaseStable: before?.dataVersion === after?.dataVersion}
      } catch (error) {
        return {replica, entries: null, error: (error as Error).message, database: null, databaseStable: false}
      }
    }),
  )
  const differences = await compareReplicaTrees(looks, databasePath, options.full, options)
  return {replicas: looks, differences, databasePath}
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
export async function compareReplicaTrees(looks: ReplicaLook[], databasePath: string | null, hashed: boolean, options: Pick<LookOptions, 'suspects' | 'verified'> = {}): Promise<Difference[]> {
  const readable = looks.filter((look): look is ReplicaLook & {entries: TreeEntry[]} => look.entries !== null)
  if (readable.length < 2) return []
  const versions = new Set(readable.map((look) => look.database?.dataVersion ?? null))
  const databaseComparable = readable.every((look) => look.databaseStable) && versions.size === 1
  const ignored = (path: string) => databasePath !== null && (SIDECARS.some((suffix) => path === `${databasePath}${suffix}`) || (path === databasePath && !databaseComparable))
  const byPath = readable.map((look) => new Map(look.entries.filter((entry) => entry.type !== 'socket' && !ignored(entry.path)).map((entry) => [entry.path, entry])))
  const paths = [...new Set(byPath.flatMap((map) => [...map.keys()]))].sort()
  const suspects = new Set(options.suspects ?? [])
  const hashOf = (index: number, path: string) => byPath[index].get(path)?.content ?? sha256(join(readable[index].replica, path)).catch(() => 'unreadable')
  /** The replicas whose copy is still what lnstore verified, when some are and some are not. */
  const intactCopies = async (path: string, entries: TreeEntry[]): Promise<{intact?: string[]}> => {
    const record = options.verified?.[path]
    if (!record) return {}
    const hashes = await Promise.all(readable.map((_, index) => hashOf(index, path)))
    const intact = readable.filter((_, index) => entries[index].size === record.size && entries[index].mtime === record.mtime && hashes[index] === record.sha256).map((look) => look.replica)
    return intact.length > 0 && intact.length < readable.length ? {intact} : {}
  }

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
      const groups = group((entry) => String(entry!.size))
      differences.push({path, kind: 'size', groups, detail: `${name} has different sizes (${describeGroups(groups, (replica) => `${defined[readable.findIndex((look) => look.replica === replica)].size} bytes`)})`, ...(await intactCopies(path, defined))})
      continue
    }

    // Same size: the content decides. A quick look reads it only where the times differ, or where a scrub found a difference.
    if (!hashed && !suspects.has(path) && new Set(defined.map((entry) => entry.mtime)).size === 1) continue
    const hashes = await Promise.all(readable.map((_, index) => hashOf(index, path)))
    if (new Set(hashes).size > 1) {
      const groups = new Map<string, string[]>()
      hashes.forEach((hash, index) => groups.set(hash, [...(groups.get(hash) ?? []), readable[index].replica]))
      differences.push({path, kind: 'content', groups: [...groups.values()], detail: `${name} has the same size but different content (${describeGroups([...groups.values()])})`, ...(await intactCopies(path, defined))})
    }
  }

  return differences
}

/** Which replicas hold which version, in words: `/a and /b | /c`, or with what each group holds. */
function describeGroups(groups: string[][], what?: (replica: string) => string): string {
  return groups.map((group) => `${group.join(' and ')}${what ? `: ${what(group[0])}` : ''}`).join(' | ')
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
 * that is keeping up with a node that writes, not falling behind). A replica ChironFS disabled
 * (`frozen`) gets no writes: behind at the second look is enough, also when the first look could
 * not read the data_version of the copy being written (a torn read under load) and so saw no
 * higher one than the frozen copy's.
 */
export function confirmedLag(first: Look, second: Look, frozen: ReadonlySet<string> = new Set()): string[] {
  const highest = (look: Look) => Math.max(...look.replicas.map((replica) => replica.database?.dataVersion ?? -1))
  const before = highest(first)
  const now = highest(second)
  return second.replicas
    .filter((replica) => replica.database && (replica.database.dataVersion ?? -1) < now && (frozen.has(replica.replica) || (replica.database.dataVersion ?? -1) < before))
    .map((replica) => replica.replica)
}

export interface DivergenceOptions extends LookOptions {
  /** How long a difference must last to count: looks again within this window while one is seen. */
  settleMs: number
  /** Replicas ChironFS disabled: they get no writes until remounted, so what sets them apart is confirmed at once. */
  frozen?: string[]
  sleep?: (ms: number) => Promise<void>
  clock?: () => number
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

/** The first wait before another look; each later one doubles, within the settle window. */
const FIRST_RELOOK_MS = 50

/**
 * Looks at the replicas; while a look sees a difference or a lag, looks again (after 50 ms, then
 * doubling) until it is gone or the settle window is over. What the first look and the latest
 * both see is confirmed; so is, at once, what only replicas ChironFS disabled account for, and
 * everything when there is no settle window (`settleMs` 0: nothing writes, as in heal with the node stopped).
 */
export async function checkDivergence(replicas: string[], options: DivergenceOptions): Promise<Divergence> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const clock = options.clock ?? Date.now
  const deadline = clock() + options.settleMs
  const first = await lookAtReplicas(replicas, options)
  const result = (latest: Look, differences: Difference[], behind: string[], looks: number): Divergence => ({differences, behind, replicas: latest.replicas, databasePath: latest.databasePath, looks})
  if (first.differences.length === 0 && laggards(first).length === 0) return result(first, [], [], 1)

  const frozen = new Set(options.frozen ?? [])
  const explainedByFrozen = (differences: Difference[], behind: string[]) =>
    frozen.size > 0 && behind.every((replica) => frozen.has(replica)) && differences.every((difference) => difference.groups.filter((group) => group.some((replica) => !frozen.has(replica))).length <= 1)
  // Nothing in flight (no settle window: the node is stopped), or only what disabled replicas account for.
  if (options.settleMs === 0 || explainedByFrozen(first.differences, laggards(first))) return result(first, first.differences, laggards(first), 1)
  let latest = first
  let looks = 1
  for (let wait = FIRST_RELOOK_MS; ; wait *= 2) {
    const remaining = deadline - clock()
    if (remaining <= 0 && looks > 1) break
    await sleep(Math.max(0, Math.min(wait, remaining)))
    latest = await lookAtReplicas(replicas, options)
    looks++
    const differences = confirmDifferences(first, latest)
    const behind = confirmedLag(first, latest, frozen)
    if (differences.length === 0 && behind.length === 0) return result(latest, [], [], looks)
    if (explainedByFrozen(differences, behind)) return result(latest, differences, behind, looks)
  }

  return result(latest, confirmDifferences(first, latest), confirmedLag(first, latest, frozen), looks)
}

/** Replicas whose database is below the highest data_version of this look. */
function laggards(look: Look): string[] {
  const top = Math.max(...look.replicas.map((replica) => replica.database?.dataVersion ?? -1))
  return look.replicas.filter((replica) => replica.database && (replica.database.dataVersion ?? -1) < top).map((replica) => replica.replica)
}
