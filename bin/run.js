#!/usr/bin/env node
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs; Node 20 has no such cache (then this does nothing).
module.enableCompileCache?.()

// `status` and `preflight` run from cron, monitoring and the node's start gate: the fast entry
// (src/cli/fast.ts) answers a plain call of them without loading oclif. Everything else, and any
// command line it does not recognise (help, usage errors), oclif runs as always.
const {runFast} = await import('../dist/fast/fast.js')
if (!(await runFast(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
}
