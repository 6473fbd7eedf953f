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
const {runFast, ran} = loadFastEntry(cachePath(process.argv.slice(2)))
runFast(process.argv.slice(2)).then(async (fast) => {
  // Which of the bundle's paths this run compiled: the hot command's, or only what oclif's runs use.
  ran(fast ? cachePath(process.argv.slice(2)) : 'other')
  if (!fast) {
    const {execute} = require('@oclif/core/execute')
    // The package's root, where its package.json is (oclif would take bin/package.json for it).
    await execute({dir: join(__dirname, '..')})
  }
})

/**
 * The path a command line takes through the bundle, which names its code cache: `status` on a live
 * pool and `status --input` (saved output: no runner, no state) compile different code, and so do
 * `preflight` and oclif's runs (`other`). Only a guess from the words (a flag's value could look like
 * `-i`): a wrong one costs a run its compiled code, never its answer.
 */
function cachePath([id, ...rest]) {
  if (id === 'preflight') return id
  if (id !== 'status') return 'other'
  return rest.some((arg) => arg === '--input' || arg.startsWith('--input=') || /^-i/.test(arg)) ? 'status-input' : 'status'
}

/**
 * Loads dist/fast/fast.cjs (one CommonJS bundle) with V8's code cache: compiling it is most of what
 * the fast entry costs beyond Node's own start, and Node 20 keeps no compiled code between runs.
 * The cache lies beside the bundle, so only who may write the code may write it (it runs as root),
 * and its name carries the bundle's size, time of change and build hash: a rebuilt bundle never meets
 * an old cache (V8 itself checks only its version, flags and the source's length).
 *
 * V8 compiles a function when it first runs, and a cache holds what the run that wrote it had
 * compiled: one written by `--version` held next to none of `status` (~8 ms of CPU per run). So each
 * path (cachePath) has a cache of its own, written by its first run: one cache holding every path
 * made each run read the others' code too (preflight 83.3 -> 79.4 ms of CPU, means of 50
 * alternating runs). Its name says how that run ended: one that failed or refused (a gate not set up
 * yet) compiled little of the everyday path, so the first run that exits 0 writes it once more;
 * after that no run writes. Where writing fails (a user who may not write the code) nothing changes.
 */
function loadFastEntry(path) {
  const filename = join(__dirname, '..', 'dist', 'fast', 'fast.cjs')
  const directory = dirname(filename)
  const source = readFileSync(filename, 'utf8')
  const {size, mtimeMs} = statSync(filename)
  // The build's hash of the bundle (its last line, written by scripts/build-fast-entry.js), beside its
  // size and time of change: an installed copy's time is npm pack's fixed date.
  const build = /\/\/# lnstore-build=([0-9a-f]+)\n$/.exec(source.slice(-64))?.[1] ?? 'none'
  const bundleKey = `${basename(filename)}.${size}-${Math.trunc(mtimeMs)}-${build}.`
  const prefix = `${bundleKey}${path}.exit`
  const cacheName = (exitCode) => `${prefix}${exitCode}${CACHE_SUFFIX}`
  let cache
  try {
    cache = {exitCode: 0, data: readFileSync(join(directory, cacheName(0)))}
  } catch {
    // None from a run that exited 0: one from a run that ended otherwise, if any.
    try {
      const name = readdirSync(directory).find((entry) => entry.startsWith(prefix) && entry.endsWith(CACHE_SUFFIX))
      if (name) cache = {exitCode: Number(name.slice(prefix.length, -CACHE_SUFFIX.length)), data: readFileSync(join(directory, name))}
    } catch {}
  }

  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData: cache?.data,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const held = cache && !script.cachedDataRejected ? cache : undefined
  const ran = (taken) => {
    // A hot command line the fast entry left to oclif (help, a usage error) compiled little of its path.
    if (taken !== path || held?.exitCode === 0) return
    process.once('exit', (exitCode) => {
      if (held && exitCode !== 0) return
      const cacheFile = join(directory, cacheName(exitCode))
      // Written whole under a name of its own, then renamed: a run beside it never reads half a cache.
      const partial = `${cacheFile}.${process.pid}`
      try {
        writeFileSync(partial, script.createCachedData(), {mode: 0o644})
        renameSync(partial, cacheFile)
        // This path's cache from a run that ended otherwise, and any of an earlier bundle (one changed
        // in place rather than rebuilt), only take room; the other paths' caches stay.
        const stale = readdirSync(directory).filter((name) => name.endsWith(CACHE_SUFFIX) && (!name.startsWith(bundleKey) || name.startsWith(prefix)) && join(directory, name) !== cacheFile)
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
