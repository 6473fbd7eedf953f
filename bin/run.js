#!/usr/bin/env node
// `status` and `preflight` run from cron, monitoring and the node's start gate: the fast entry
// (src/cli/fast.ts) answers a plain call of them without loading oclif. Everything else, and any
// command line it does not recognise (help, usage errors), oclif runs as always.
import {runFast} from '../dist/fast/fast.js'

if (!(await runFast(process.argv.slice(2)))) {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
}
