#!/usr/bin/env node
// The closing table of the operator journeys: journey x OpenZFS version -> passed / failed, with
// the acknowledged and lost writes, and each failure's reason.
//
//   node test/vm/journeys-summary.mjs VARIANT JOURNEY LOG EXIT SECONDS [...]
//
// LOG is the console of every boot of that journey's machine; the journey printed one
// `LNSTORE-JOURNEY {json}` line with its verdict (test/vm/journeys/lib.sh, report).
import {readFileSync} from 'node:fs'

const cells = new Map()
const variants = []
const journeys = []
const args = process.argv.slice(2)
for (let i = 0; i + 4 < args.length; i += 5) {
  const [variant, journey, log, exit, seconds] = args.slice(i, i + 5)
  let text = ''
  try {
    // Terminal escapes go first: an interactive lnstore run leaves one (listr2's "show the cursor")
    // at the start of the verdict's line.
    text = readFileSync(log, 'utf8').replaceAll('\r', '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
  } catch {}
  const verdicts = [...text.matchAll(/^LNSTORE-JOURNEY (\{.*\})$/gm)].map((match) => JSON.parse(match[1]))
  const verdict = verdicts.at(-1)
  const version = /ready after .*?; zfs-(\S+?)(?:-\d[^,\s]*)?,/.exec(text)?.[1] ?? variant
  if (!variants.includes(variant)) variants.push(variant)
  if (!journeys.includes(journey)) journeys.push(journey)
  const code = Number(exit)
  const result = verdict?.result === 'passed' && code === 0 ? 'passed' : 'failed'
  const why = verdict ? verdict.detail : code === 124 ? 'VM timeout' : code === 125 ? 'the VM could not run the journey' : `no verdict (exit ${code})`
  cells.set(`${variant}\u0000${journey}`, {result, version, why, seconds: Number(seconds), acknowledged: verdict?.acknowledged ?? 0, lost: verdict?.lost ?? -1})
}

const cell = (c) => (c ? `${c.result} ${c.seconds}s ack ${c.acknowledged} lost ${c.lost < 0 ? '?' : c.lost}` : 'not run')
const header = ['journey', ...variants.map((variant) => {
  const any = [...cells.entries()].find(([key]) => key.startsWith(`${variant}\u0000`))
  return any ? `${variant} (${any[1].version})` : variant
})]
const rows = journeys.map((journey) => [journey, ...variants.map((variant) => cell(cells.get(`${variant}\u0000${journey}`)))])
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
const line = (row) => `| ${row.map((text, i) => text.padEnd(widths[i])).join(' | ')} |`
console.log('\nOperator journeys (real lightningd under systemd, real OpenZFS):')
console.log(line(header))
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
for (const row of rows) console.log(line(row))
const failures = [...cells.entries()].filter(([, c]) => c.result !== 'passed')
for (const [key, c] of failures) console.log(`  FAILED ${key.replace('\u0000', ' ')}: ${c.why}`)
const passed = cells.size - failures.length
console.log(`${passed} of ${cells.size} journey runs passed`)
