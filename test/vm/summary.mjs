#!/usr/bin/env node
// The closing table of `npm run test:vm`: which lnstore behaviours (the integration tests) ran
// against which OpenZFS version, and how each went.
//
//   node test/vm/summary.mjs VARIANT LOG EXIT SECONDS [VARIANT LOG EXIT SECONDS ...]
//
// LOG is the VM console of one variant's run; the test reporter (test/support/reporter.cjs with
// LNSTORE_TEST_RESULT_LINES=1) printed a `LNSTORE-RESULT {json}` line per test there, and the guest
// init a "ready ...; zfs-X.Y.Z-..." line naming the OpenZFS version that actually ran.
import {readFileSync} from 'node:fs'

const runs = []
const args = process.argv.slice(2)
for (let i = 0; i + 3 < args.length; i += 4) {
  const [variant, log, exit, seconds] = args.slice(i, i + 4)
  let text = ''
  try {
    text = readFileSync(log, 'utf8').replaceAll('\r', '')
  } catch {}

  const version = /ready after .*?; zfs-(\S+?)(?:-\d[^,\s]*)?,/.exec(text)?.[1] ?? variant
  const results = new Map()
  for (const match of text.matchAll(/^LNSTORE-RESULT (\{.*\})$/gm)) {
    const {state, path, ms, error} = JSON.parse(match[1])
    const [suite, ...rest] = path.map((part) => part.replace(/ \((kernel|zfs-fuse)\)/, ''))
    let title = rest.join(' › ')
    let reason = ''
    const skip = / \[skipped on \S+: (.*)\]$/.exec(title)
    if (skip) {
      title = title.slice(0, skip.index)
      reason = skip[1]
    }

    results.set(`${suite}\u0000${title}`, {state, ms, reason, error})
  }

  // The real lightningd's figures per run (test/support/cln.ts writeSummary): a title each.
  const nodeRuns = new Map()
  for (const match of text.matchAll(/^LNSTORE-NODE-RUN (\{.*\})$/gm)) {
    const figures = JSON.parse(match[1])
    nodeRuns.set(figures.title, figures)
  }

  runs.push({variant, version, exit: Number(exit), seconds: Number(seconds), results, nodeRuns})
}

const rows = [...new Set(runs.flatMap((run) => [...run.results.keys()]))]
const cell = (result) => (result ? `${result.state}${result.state === 'skipped' ? '' : ` ${Math.round(result.ms / 1000)}s`}` : 'not run')
const width = 18
const line = (cells, text) => `  ${cells.map((text) => text.padEnd(width)).join('')}${text}`

console.log('\n== VM tier: lnstore behaviours × OpenZFS version (real kernel module, QEMU/TCG)')
console.log(line(runs.map((run) => (run.version === run.variant ? run.variant : `OpenZFS ${run.version}`)), 'behaviour'))
let suite = ''
for (const key of rows) {
  const [rowSuite, title] = key.split('\u0000')
  if (rowSuite !== suite) {
    suite = rowSuite
    console.log(`  ${suite}`)
  }

  const cells = runs.map((run) => run.results.get(key))
  const reasons = [...new Set(cells.filter((result) => result?.reason).map((result) => result.reason))]
  console.log(line(cells.map(cell), `  ${title}${reasons.length > 0 ? ` (skipped: ${reasons.join('; ')})` : ''}`))
}

// Issue 14: per run around the real node, acknowledged writes, lost writes (must be 0), the node's
// downtime (lnstore's report, else the longest gap between acknowledged writes) and kills survived.
const nodeTitles = [...new Set(runs.flatMap((run) => [...run.nodeRuns.keys()]))]
if (nodeTitles.length > 0) {
  const nodeCell = (entry) =>
    (entry ? `ack ${entry.acknowledged} lost ${entry.lost}${entry.lost > 0 ? '(!)' : ''} down ${Math.round(entry.downtimeSeconds ?? entry.longestGapSeconds)}s kills ${entry.kills}` : 'not run').padEnd(36)
  console.log('\n  the real lightningd, per run: acknowledged writes, lost writes (must be 0), node downtime, kills of lnstore survived')
  console.log(line(runs.map((run) => (run.version === run.variant ? run.variant : `OpenZFS ${run.version}`).padEnd(36)), 'run'))
  for (const title of nodeTitles) console.log(line(runs.map((run) => nodeCell(run.nodeRuns.get(title))), `  ${title}`))
}

for (const run of runs) {
  for (const [key, result] of run.results) {
    if (result.state === 'failed') console.log(`  FAILED on ${run.variant}: ${key.replace('\u0000', ' › ')}: ${result.error ?? ''}`)
  }
}

for (const run of runs) {
  const counts = {passed: 0, failed: 0, skipped: 0}
  for (const {state} of run.results.values()) counts[state]++
  const notRun = rows.length - run.results.size
  const verdict = run.exit === 0 ? 'passed' : run.exit === 124 ? 'FAILED (timeout)' : run.exit === 125 ? 'FAILED (the VM could not run the tests)' : `FAILED (exit ${run.exit})`
  console.log(`  ${run.variant} (OpenZFS ${run.version}): ${verdict}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${notRun > 0 ? `, ${notRun} not run` : ''}, ${run.seconds} s`)
}
