#!/usr/bin/env node
// lnstore's benchmark. Every figure is a ratio against a baseline measured in the same run, on
// the same machine, interleaved, so a busy or slow machine shifts both sides alike.
//   (a) `lnstore status` end to end beside `zpool status` alone, sanoid --monitor-health (the
//       peer to beat) and `node -e 0` (the start-up floor), on one real zfs-fuse pool;
//       and `lnstore status` in mode chironfs (bench/chironfs-status.js) on the same machine;
//   (b) the status reader on synthetic pools of 10, 100 and 1,000 devices.
// Usage: npm run bench [-- --runs N]   (root: it creates a pool on sparse files)
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseStatus} from '../dist/zfs/status-json.js'
import {chironfsStatusCommands} from './chironfs-status.js'

const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 21
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'lnstore-bench-'))
const POOL = `lnsbench${process.pid}`
let chironfsCleanup

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

function ensurePool() {
  if (spawnSync('zpool', ['list'], {stdio: 'ignore'}).status !== 0) {
    if (!has('zfs-fuse')) throw new Error('no zpool answers and zfs-fuse is not installed (apt-get install zfs-fuse)')
    spawnSync('zfs-fuse', [], {stdio: 'ignore'})
    for (let i = 0; i < 100 && spawnSync('zpool', ['list'], {stdio: 'ignore'}).status !== 0; i++) execFileSync('sleep', ['0.1'])
  }

  const disks = ['a', 'b'].map((name) => join(work, name))
  for (const disk of disks) execFileSync('truncate', ['-s', '128M', disk])
  execFileSync('zpool', ['create', '-f', '-m', join(work, 'mnt'), POOL, 'mirror', ...disks], {stdio: 'ignore'})
  execFileSync('zpool', ['scrub', POOL])
}

/** Wall time of each command, interleaved run by run; returns the median in milliseconds. */
function timeCommands(commands) {
  const samples = new Map(commands.map(({label}) => [label, []]))
  for (let run = 0; run < RUNS + 1; run++) {
    for (const {label, argv, env} of commands) {
      const start = process.hrtime.bigint()
      const result = spawnSync(argv[0], argv.slice(1), {stdio: 'ignore', env: {...process.env, ...env}})
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6
      if (result.error) throw result.error
      if (run > 0) samples.get(label).push(elapsed) // the first run warms caches
    }
  }

  return new Map([...samples].map(([label, values]) => [label, median(values)]))
}

function syntheticStatus(devices) {
  const rows = []
  for (let mirror = 0; mirror < devices / 2; mirror++) {
    rows.push(`\t  mirror-${mirror}  ONLINE       0     0     0`)
    rows.push(`\t    sd${mirror}a  ONLINE       0     0     0`, `\t    sd${mirror}b  ONLINE       0     0     ${mirror % 7}`)
  }

  return `  pool: tank\n state: ONLINE\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:45:31 2026\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\ttank        ONLINE       0     0     0\n${rows.join('\n')}\n\nerrors: No known data errors\n`
}

function timeReader(devices) {
  const text = syntheticStatus(devices)
  const iterations = Math.max(20, Math.round(20_000 / devices))
  const samples = []
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) parseStatus(text)
    samples.push(Number(process.hrtime.bigint() - start) / 1e3 / iterations)
  }

  return median(samples)
}

try {
  ensurePool()
  const stateDir = join(work, 'state')
  const configFile = join(work, 'config.json')
  writeFileSync(configFile, '{}')
  const env = {LNSTORE_STATE_DIR: stateDir, LNSTORE_CONFIG: configFile, NO_COLOR: '1'}
  const commands = [
    {label: 'node -e 0 (start-up floor)', argv: [process.execPath, '-e', '0']},
    {label: `zpool status ${POOL}`, argv: ['zpool', 'status', POOL]},
    {label: 'lnstore --version (CLI start-up)', argv: [process.execPath, BIN, '--version'], env},
    {label: `lnstore status --pool ${POOL}`, argv: [process.execPath, BIN, 'status', '--pool', POOL], env},
    {label: `lnstore status --pool ${POOL} --json`, argv: [process.execPath, BIN, 'status', '--pool', POOL, '--json'], env},
  ]
  const chironfs = chironfsStatusCommands(work, BIN)
  chironfsCleanup = chironfs?.cleanup
  if (chironfs) commands.push(...chironfs.commands)
  if (has('sanoid')) {
    writeFileSync(join(work, 'sanoid.conf'), `[${POOL}]\n\tuse_template = bench\n\n[template_bench]\n\tautosnap = no\n`)
    execFileSync('cp', ['/usr/share/sanoid/sanoid.defaults.conf', work])
    commands.push({label: 'sanoid --monitor-health (the peer)', argv: ['sanoid', '--configdir', work, '--monitor-health']})
  }

  const times = timeCommands(commands)
  const floor = times.get(commands[0].label)
  const zpool = times.get(commands[1].label)
  const sanoid = times.get('sanoid --monitor-health (the peer)')
  console.log(`(a) end to end, median of ${RUNS} runs, zfs-fuse pool ${POOL}\n`)
  console.log(`${'command'.padEnd(44)}${'ms'.padStart(8)}${'× node -e 0'.padStart(13)}${'× zpool'.padStart(9)}${sanoid ? '× sanoid'.padStart(10) : ''}`)
  for (const [label, ms] of times) {
    const ratios = [ms / floor, ms / zpool, ...(sanoid ? [ms / sanoid] : [])].map((ratio, index) => ratio.toFixed(2).padStart([13, 9, 10][index]))
    console.log(`${label.padEnd(44)}${ms.toFixed(1).padStart(8)}${ratios.join('')}`)
  }

  if (!sanoid) console.log('(sanoid is not installed: apt-get install sanoid to compare with it)')
  console.log('\n(b) the status reader, in process, median per parse\n')
  console.log(`${'devices'.padStart(8)}${'µs/parse'.padStart(12)}${'µs/device'.padStart(11)}${'× 10-device cost'.padStart(18)}`)
  const base = timeReader(10)
  for (const devices of [10, 100, 1000]) {
    const us = devices === 10 ? base : timeReader(devices)
    console.log(`${String(devices).padStart(8)}${us.toFixed(1).padStart(12)}${(us / devices).toFixed(2).padStart(11)}${(us / base).toFixed(1).padStart(18)}`)
  }
} finally {
  chironfsCleanup?.()
  spawnSync('zpool', ['destroy', '-f', POOL], {stdio: 'ignore'})
  rmSync(work, {recursive: true, force: true})
}
