import type BetterSqlite3 from 'better-sqlite3'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

const require = createRequire(import.meta.url)
let addon: object | undefined

/**
 * Opens a database with better-sqlite3, handing it its native addon. The addon is found exactly as
 * the package finds it (the `bindings` package, same search), but from the package's own folder
 * rather than from whoever calls: the fast entry bundles better-sqlite3's JavaScript
 * (scripts/build-fast-entry.js; its ~13 files loaded one by one cost the start gate ~5 ms), and
 * from inside the bundle `bindings` would look beside the bundle.
 */
export async function openDatabase(path: string, options: BetterSqlite3.Options = {}): Promise<BetterSqlite3.Database> {
  const {default: Database} = await import('better-sqlite3')
  addon ??= loadAddon()
  // The package takes the addon itself as well as its path (lib/database.js); its types name only the path.
  return new Database(path, {...options, nativeBinding: addon as unknown as string})
}

const ADDON = 'better_sqlite3.node'

/**
 * `bindings` tries build/, build/Debug/, then build/Release/ (where npm's install puts the addon),
 * and loads the first that exists. Where the first two hold none, the addon is build/Release's and
 * is loaded directly, with the `path` bindings gives it: its search (the package, a URL helper and
 * a failed require per folder) cost the start gate ~1.5 ms of CPU. Anything else: its own search.
 */
function loadAddon(): object {
  const root = dirname(require.resolve('better-sqlite3/package.json'))
  const [linked, debug, release] = [['build'], ['build', 'Debug'], ['build', 'Release']].map((folders) => join(root, ...folders, ADDON))
  if (!existsSync(linked) && !existsSync(debug) && existsSync(release)) return Object.assign(require(release) as object, {path: release})
  return (require('bindings') as (options: {bindings: string; module_root: string}) => object)({bindings: ADDON, module_root: root})
}
