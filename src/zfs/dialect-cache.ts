import {readFileSync, statSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {delimiter, join} from 'node:path'

import {readJsonFile, writeJsonAtomically} from '../state/json-file.js'

/**
 * What the installed zpool accepts, learned by trying (src/zfs/zpool.ts): on zfs-fuse that costs
 * three rejected calls per run (`status -j`, `status -p`, `status -g`) and one more for `list -p`.
 * Kept in the state directory per zpool: the key is the zpool program's path, size, change time and
 * inode, and the loaded kernel module's version; an upgrade of either changes the key, so the next
 * run learns again. Cheaper than asking `zpool version` (a process per run), and what decides the
 * options is the zpool program itself. A wrong or unreadable record only costs the calls it saves:
 * Zpool still falls back when an option is rejected.
 */
export interface ZpoolDialect {
  status: 'json' | 'parsable' | 'text'
  /** `zpool status -g` (GUIDs in text output). */
  guids: boolean
  /** `zpool list -p` (exact numbers). */
  exactList: boolean
}

export interface DialectCache {
  read(): Promise<ZpoolDialect | undefined>
  write(dialect: ZpoolDialect): Promise<void>
}

interface Record {
  key: string
  dialect: ZpoolDialect
}

const FILE = 'zpool-dialect.json'

/** The cache in `stateDir`; `binary` is looked up on PATH as the runner will. */
export function fileDialectCache(stateDir: string, binary = 'zpool', env: NodeJS.ProcessEnv = process.env): DialectCache {
  const path = join(stateDir, FILE)
  const key = installedKey(binary, env)
  return {
    async read() {
      const record = await readJsonFile<Partial<Record> | null>(path, null).catch(() => null)
      return key && record?.key === key ? record.dialect : undefined
    },
    async write(dialect) {
      // A monitoring user may not write the state directory: then every run detects again.
      if (!key) return
      await mkdir(stateDir, {recursive: true})
        .then(() => writeJsonAtomically(path, {key, dialect} satisfies Record))
        .catch(() => {})
    },
  }
}

/** Identifies the zpool program PATH leads to and the ZFS kernel module; undefined when there is no such program. */
function installedKey(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = binary.includes('/') ? [binary] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, binary))
  for (const candidate of candidates) {
    try {
      const stat = statSync(candidate)
      if (!stat.isFile()) continue
      let module = 'none'
      try {
        module = readFileSync('/sys/module/zfs/version', 'utf8').trim()
      } catch {}

      return `${candidate} ${stat.size} ${stat.ctimeMs} ${stat.ino} module ${module}`
    } catch {}
  }

  return undefined
}
