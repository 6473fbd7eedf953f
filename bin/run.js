#!/usr/bin/env node
// CommonJS (bin/package.json says so), not an ES module like the rest of the package: Node starts
// its ES module loader only for an ES module entry, ~3 ms of CPU on every run of a health check.
const {readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} = require('node:fs')
const nodeModule = require('node:module')
const {basename, dirname, join} = require('node:path')
const vm = require('node:vm')

// Node 22.1+ keeps compiled code between runs; Node 20 has no such cache (then this does nothing).
nodeModule.enableCompileCache?.()

// `status` and `preflight` run from cron, monitoring and the node's start gate: the fast entry
// (src/cli/fast.ts) answers a plain call of them without loading oclif. Everything else, and any
// command line it does not recognise (help, usage errors), oclif runs as always.
const CACHE_SUFFIX = '.v8cache'
const {runFast, ran} = loadFastEntry()
runFast(process.argv.slice(2)).then(async (fast) => {
  // Which of the bundle's paths this run compiled: the hot command's, or only what oclif's runs use.
  ran(fast ? process.argv[2] : 'other')
  if (!fast) {
    const {execute} = require('@oclif/core/execute')
    // The package's root, where its package.json is (oclif would take bin/package.json for it).
    await execute({dir: join(__dirname, '..')})
  }
})

/**
 * Loads dist/fast/fast.cjs (one CommonJS bundle) with V8's code cache: compiling it is most of what
 * the fast entry costs beyond Node's own start, and Node 20 keeps no compiled code between runs.
 * The cache lies beside the bundle, so only who may write the code may write it (it runs as root),
 * and its name carries the bundle's size, time of change and build hash: a rebuilt bundle never meets
 * an old cache (V8 itself checks only its version, flags and the source's length).
 *
 * V8 compiles a function when it first runs, and a cache holds what the run that wrote it had
 * compiled: one written by `--version` held next to none of `status` (~8 ms of CPU per run). So the
 * name also lists the paths whose code the cache holds (`status`, `preflight`, `other`: oclif's
 * runs), and a run along a path it does not hold writes it again when it exits, with what it took
 * from the old cache and what it compiled itself. After one run of each path no run writes any
 * more. Where writing fails (a user who may not write the code) nothing changes.
 */
function loadFastEntry() {
  const filename = join(__dirname, '..', 'dist', 'fast', 'fast.cjs')
  const directory = dirname(filename)
  const source = readFileSync(filename, 'utf8')
  const {size, mtimeMs} = statSync(filename)
  // The build's hash of the bundle (its last line, written by scripts/build-fast-entry.js), beside its
  // size and time of change: an installed copy's time is npm pack's fixed date.
  const build = /\/\/# lnstore-build=([0-9a-f]+)\n$/.exec(source.slice(-64))?.[1] ?? 'none'
  const prefix = `${basename(filename)}.${size}-${Math.trunc(mtimeMs)}-${build}.`
  const caches = readdirSync(directory)
    .filter((name) => name.startsWith(prefix) && name.endsWith(CACHE_SUFFIX))
    .map((name) => ({name, paths: name.slice(prefix.length, -CACHE_SUFFIX.length).split('+')}))
  // Two runs along different paths may each have written one: the one holding more.
  const cache = caches.sort((a, b) => b.paths.length - a.paths.length)[0]
  let cachedData
  try {
    if (cache) cachedData = readFileSync(join(directory, cache.name))
  } catch {}

  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const held = cachedData && !script.cachedDataRejected ? cache.paths : []
  const ran = (path) => {
    if (held.includes(path)) return
    process.once('exit', () => {
      const cacheFile = join(directory, `${prefix}${[...held, path].sort().join('+')}${CACHE_SUFFIX}`)
      // Written whole under a name of its own, then renamed: a run beside it never reads half a cache.
      const partial = `${cacheFile}.${process.pid}`
      try {
        writeFileSync(partial, script.createCachedData(), {mode: 0o644})
        renameSync(partial, cacheFile)
        // Caches holding fewer paths, or of an earlier bundle (one changed in place rather than rebuilt), only take room.
        const stale = readdirSync(directory).filter((name) => name.endsWith(CACHE_SUFFIX) && join(directory, name) !== cacheFile)
        for (const name of stale) rmSync(join(directory, name), {force: true})
      } catch {
        rmSync(partial, {force: true})
      }
    })
  }

  const bundle = {exports: {}}
  script.runInThisContext()(bundle.exports, nodeModule.createRequire(filename), bundle, filename, directory)
  return {...bundle.exports, ran}
}
