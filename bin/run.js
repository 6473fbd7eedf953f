#!/usr/bin/env node
import {readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import module, {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

// Node 22.1+ keeps compiled code between runs; Node 20 has no such cache (then this does nothing).
module.enableCompileCache?.()

// `status` and `preflight` run from cron, monitoring and the node's start gate: the fast entry
// (src/cli/fast.ts) answers a plain call of them without loading oclif. Everything else, and any
// command line it does not recognise (help, usage errors), oclif runs as always.
const {runFast} = loadFastEntry()
if (!(await runFast(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
}

/**
 * Loads dist/fast/fast.cjs (one CommonJS bundle) with V8's code cache: compiling it is most of what
 * the fast entry costs beyond Node's own start, and Node 20 keeps no compiled code between runs.
 * The cache lies beside the bundle, so only who may write the code may write it (it runs as root),
 * and its name carries the bundle's size and time of change: a rebuilt bundle never meets an old
 * cache (V8 itself checks only its version, flags and the source's length). A run without a usable
 * cache writes one when it exits, with the functions it compiled; where that fails nothing changes.
 */
function loadFastEntry() {
  const filename = fileURLToPath(new URL('../dist/fast/fast.cjs', import.meta.url))
  const source = readFileSync(filename, 'utf8')
  const {size, mtimeMs} = statSync(filename)
  const cacheFile = `${filename}.${size}-${Math.trunc(mtimeMs)}.v8cache`
  let cachedData
  try {
    cachedData = readFileSync(cacheFile)
  } catch {}

  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      // Written whole under a name of its own, then renamed: a run beside it never reads half a cache.
      const partial = `${cacheFile}.${process.pid}`
      try {
        writeFileSync(partial, script.createCachedData(), {mode: 0o644})
        renameSync(partial, cacheFile)
        // Caches of an earlier bundle (one changed in place rather than rebuilt) only take room.
        const stale = readdirSync(dirname(filename)).filter((name) => name.endsWith('.v8cache') && join(dirname(filename), name) !== cacheFile)
        for (const name of stale) rmSync(join(dirname(filename), name), {force: true})
      } catch {
        rmSync(partial, {force: true})
      }
    })
  }

  const bundle = {exports: {}}
  script.runInThisContext()(bundle.exports, createRequire(filename), bundle, filename, dirname(filename))
  return bundle.exports
}
