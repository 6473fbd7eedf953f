#!/usr/bin/env node
// Bundles the fast entry for `status` and `preflight` (src/cli/fast.ts) into one CommonJS file,
// dist/fast/fast.cjs, instead of ~60 modules, with oclif's command, flags and errors modules
// replaced by the stand-ins in src/cli/oclif-lite/ (the real ones cost ~100 ms to load). Run by
// `npm run build` after tsc and the manifest. Packages stay outside the bundle, loaded from
// node_modules as before, except yaml (below).
//
// One CommonJS file rather than ES module chunks: bin/run.js compiles it with vm.Script, which can
// keep V8's compiled code between runs (Node 20 offers no such cache for ES modules), and one file
// spares the ES module loader resolving ~30 chunks. The parts a run does not need are only
// pre-parsed by V8, not run.
import {build} from 'esbuild'
import {createHash} from 'node:crypto'
import {appendFileSync, readFileSync, rmSync} from 'node:fs'
import {createRequire} from 'node:module'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const STAND_INS = {
  '@oclif/core/command': 'src/cli/oclif-lite/command.ts',
  '@oclif/core/flags': 'src/cli/oclif-lite/flags.ts',
  '@oclif/core/errors': 'src/cli/oclif-lite/errors.ts',
}

/**
 * yaml: every real config is YAML, and loading the package's CommonJS build costs ~40 ms; its ES
 * module build (the same code, published for browsers, using nothing of the browser) bundles.
 */
const YAML_ESM = `${root}node_modules/yaml/browser/index.js`

/**
 * better-sqlite3's JavaScript (CommonJS, no dependency loaded at start): the start gate reads the
 * node database with it, and loading its ~13 small files one by one costs ~5 ms; its native addon
 * stays where it is (src/node/sqlite.ts hands it over).
 */
const BUNDLED = new Set(['better-sqlite3'])

/**
 * Node's modules the bundle imports at its start but that `status --input` never uses: loaded at
 * their first use instead (node:fs/promises alone costs ~1.7 ms of CPU: a dozen internal modules,
 * readline's among them). Each stands in as an object with the module's export names (listed now,
 * from this Node) as getters that load it when first read: every module reads them at each call
 * (`(0, import_promises.readFile)(...)`), so nothing else changes.
 */
const LAZY_BUILTINS = new Set(['node:fs/promises'])
const require = createRequire(import.meta.url)
const lazyBuiltin = (name) => `let loaded
const load = () => (loaded ??= require(${JSON.stringify(name)}))
for (const key of ${JSON.stringify(Object.keys(require(name)))}) Object.defineProperty(exports, key, {enumerable: true, get: () => load()[key]})
`

const oclifLite = {
  name: 'oclif-lite',
  setup(builder) {
    builder.onResolve({filter: /^@oclif\/core(\/|$)/}, (args) => {
      // Imported by the stand-ins themselves, on the error path only: the real module.
      if (args.importer.includes('oclif-lite') || args.path === '@oclif/core/handle') return {path: args.path, external: true}
      if (STAND_INS[args.path]) return {path: `${root}${STAND_INS[args.path]}`}
      return {errors: [{text: `${args.path} has no stand-in in src/cli/oclif-lite/: the fast entry would load oclif (import it lazily, or add a stand-in)`}]}
    })
    builder.onResolve({filter: /^yaml$/}, () => ({path: YAML_ESM}))
    builder.onResolve({filter: /^node:/}, (args) => {
      if (!LAZY_BUILTINS.has(args.path)) return undefined
      // The proxy's own require is the real module.
      return args.namespace === 'lazy-builtin' ? {path: args.path, external: true} : {path: args.path, namespace: 'lazy-builtin'}
    })
    builder.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, (args) => ({contents: lazyBuiltin(args.path), loader: 'js'}))
    builder.onResolve({filter: /^[^./]/}, (args) => (args.path.startsWith('node:') || BUNDLED.has(args.path) ? undefined : {path: args.path, external: true}))
  },
}

/** The last line of the bundle: `//# lnstore-build=` and a hash of the rest (bin/run.js reads it). */
const BUILD_MARK = '\n//# lnstore-build='

/** The manifest's flags and args of every command, without their help texts: built into the bundle, not read at each run. */
const manifest = JSON.parse(readFileSync(`${root}oclif.manifest.json`, 'utf8'))
const HELP_ONLY = new Set(['description', 'summary', 'helpValue', 'helpGroup', 'helpLabel'])
const parsing = Object.fromEntries(
  Object.entries(manifest.commands).map(([id, command]) => [
    id,
    {
      args: command.args,
      flags: Object.fromEntries(Object.entries(command.flags).map(([name, flag]) => [name, Object.fromEntries(Object.entries(flag).filter(([key]) => !HELP_ONLY.has(key)))])),
    },
  ]),
)

// Also drops the code caches bin/run.js keeps beside the old bundle.
rmSync(`${root}dist/fast`, {recursive: true, force: true})
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/fast.ts'],
  outfile: 'dist/fast/fast.cjs',
  bundle: true,
  format: 'cjs',
  // Packages (better-sqlite3, nodemailer: both CommonJS) by require(), which vm.Script provides.
  supported: {'dynamic-import': false},
  platform: 'node',
  target: 'node20',
  // Without comments and spaces (557 -> 406 KB), every run reads and scans less: ~1.3 ms of CPU
  // per health check. Names are kept, so a bug's stack still names its functions.
  minifyWhitespace: true,
  minifySyntax: true,
  tsconfig: 'tsconfig.json',
  plugins: [oclifLite],
  // The modules locate templates and packages from import.meta.url: the bundle's own file URL.
  banner: {js: 'var __lnstoreBundleUrl = require("node:url").pathToFileURL(__filename).href;'},
  define: {LNSTORE_MANIFEST: JSON.stringify({commands: parsing}), 'import.meta.url': '__lnstoreBundleUrl'},
  logLevel: 'warning',
})

// What the bundle is, for bin/run.js's code cache: its size and time of change say too little of a
// copy installed from `npm pack` (every file's time is the same fixed date there).
const bundle = readFileSync(`${root}dist/fast/fast.cjs`)
appendFileSync(`${root}dist/fast/fast.cjs`, `${BUILD_MARK}${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}\n`)
