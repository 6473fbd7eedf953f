#!/usr/bin/env node
// lnstore's benchmark. Every figure is a ratio against a baseline measured in the same run, on
// the same machine, interleaved, so a busy or slow machine shifts both sides alike.
//   (a) `lnstore status` and `lnstore preflight` end to end beside `zpool status` alone, sanoid
//       --monitor-health (the peer to beat) and `node -e 0` (the start-up floor), on one real
//       zfs-fuse pool holding a node database; the goals of issue 20 are printed with the ratios;
//       and `lnstore status` in mode chironfs (bench/chironfs-status.js: healthy, one replica behind);
//   (b) the status reader, and the whole check of saved output (read, judge, render, as `status
//       --input` does it), on synthetic pools of 10 to 4,500 devices: the cost per device must stay flat.
// Usage: npm run bench; or, after npm run build, node bench/run.js [--runs N] [--before DIR] (npm run
//        bench -- ARGS hands ARGS to its last script, bench/replace-downtime.js, not to this one)
//        --before DIR: also time the hot commands of another built checkout (DIR/bin/run.js), in the
//        same interleaved runs, as rows marked "(before)": a change's effect free of the machine's load.   (root: it creates a pool on sparse files; it installs nothing)
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import Database from 'better-sqlite3'
import {$, sleep, which} from 'zx'

import {validateConfig} from '../dist/config/schema.js'
import {checkStatus} from '../dist/status/check-status.js'
import {renderStatus} from '../dist/status/render.js'
import {parseStatus} from '../dist/zfs/status-json.js'
import {chironfsStatusCommands} from './chironfs-status.js'

const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 21
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const beforeFlag = process.argv.indexOf('--before')
const BEFORE_BIN = beforeFlag > 0 ? join(process.argv[beforeFlag + 1], 'bin', 'run.js') : undefined
const work = mkdtempSync(join(tmpdir(), 'lnstore-bench-'))
const POOL = `lnsbench${process.pid}`
let chironfsCleanup

// The set-up is a script of zpool and zfs calls: zx's home. The measured runs are plain spawns.
$.quiet = true
const has = async (command) => (await which(command, {nothrow: true})) !== null
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function ensurePool() {
  const answers = async () => (await $`zpool list`.nothrow()).exitCode === 0
  if (!(await answers())) {
    if (!(await has('zfs-fuse'))) throw new Error('no zpool answers and zfs-fuse is not installed (apt-get install zfs-fuse)')
    await $`zfs-fuse`.nothrow()
    for (let i = 0; i < 100 && !(await answers()); i++) await sleep(100)
  }

  const disks = ['a', 'b'].map((name) => join(work, name))
  await $`truncate -s 128M ${disks}`
  await $`zpool create -f -m ${join(work, 'mnt')} ${POOL} mirror ${disks}`
  await $`zfs create -o mountpoint=${join(work, 'lightning')} ${POOL}/ln`
  await $`zpool scrub ${POOL}`
}

/** A node database with a data_version, as Core Lightning keeps it: preflight reads and checks it. */
function writeNodeDatabase(dataDir) {
  mkdirSync(join(dataDir, 'bitcoin'), {recursive: true})
  const database = new Database(join(dataDir, 'bitcoin', 'lightningd.sqlite3'))
  database.exec("CREATE TABLE vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER, blobval BLOB); INSERT INTO vars (name, intval) VALUES ('data_version', 4242)")
  database.close()
}

/**
 * Runs argv under bash's `time`, which reads the command's CPU time (with its children's) from
 * getrusage to the microsecond and prints it to the millisecond: Linux's /proc counts children's
 * time in clock ticks (10 ms), which left a mean of 21 runs uncertain by ~1.5 ms, ±6% of `node -e 0`.
 * The command's output still goes through pipes (as cron, monitoring and systemd's journal take it);
 * bash's report comes on a third pipe. Wall and CPU time in milliseconds, bash's own start excluded.
 */
const TIMED = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" 2>&4; } 4>&2 2>&3'
function timed(argv, env) {
  const result = spawnSync('bash', ['-c', TIMED, 'bash', ...argv], {stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env})
  if (result.error) throw result.error
  const [real, user, system] = result.output[3].toString().trim().split(' ').map(Number)
  if ([real, user, system].some(Number.isNaN)) throw new Error(`no timing from bash for ${argv.join(' ')}: ${result.output[3]}${result.stderr}`)
  return {wall: real * 1000, cpu: (user + system) * 1000}
}

/**
 * Wall time of each command, interleaved run by run: the median in milliseconds; and its CPU time
 * (its own and its children's, such as zpool), the mean: on a machine shared with other work the
 * CPU time shows the cost of a command when the wall time is mostly waiting for a core.
 */
function timeCommands(commands) {
  const samples = new Map(commands.map(({label}) => [label, []]))
  const cpu = new Map(commands.map(({label}) => [label, 0]))
  for (let run = 0; run < RUNS + 1; run++) {
    for (const command of commands) {
      const {label, argv} = command
      const {wall, cpu: used} = timed(argv, environment(command))
      if (run === 0) continue // the first run warms caches
      samples.get(label).push(wall)
      cpu.set(label, cpu.get(label) + used)
    }
  }

  return new Map([...samples].map(([label, values]) => [label, {wall: median(values), cpu: cpu.get(label) / RUNS}]))
}

/** A command's environment: this process's, with its own variables, without those it unsets. */
function environment({env = {}, unset = []}) {
  const result = {...process.env, ...env}
  for (const name of unset) delete result[name]
  return result
}

function syntheticStatus(devices) {
  const rows = []
  for (let mirror = 0; mirror < devices / 2; mirror++) {
    rows.push(`\t  mirror-${mirror}  ONLINE       0     0     0`)
    rows.push(`\t    sd${mirror}a  ONLINE       0     0     0`, `\t    sd${mirror}b  ONLINE       0     0     ${mirror % 7}`)
  }

  return `  pool: tank\n state: ONLINE\n  scan: scrub repaired 0B in 00:00:01 with 0 errors on Tue Nov 24 20:45:31 2026\nconfig:\n\n\tNAME        STATE     READ WRITE CKSUM\n\ttank        ONLINE       0     0     0\n${rows.join('\n')}\n\nerrors: No known data errors\n`
}

/**
 * Median CPU microseconds per call of `work` (7 rounds; CPU, not wall time: on a busy machine a
 * long round waits for a core more often than a short one); each round repeats it about `budget` /
 * devices times.
 */
async function timeInProcess(devices, budget, work) {
  const iterations = Math.max(1, Math.round(budget / devices))
  const samples = []
  for (let round = 0; round < 7; round++) {
    const start = process.cpuUsage()
    for (let i = 0; i < iterations; i++) await work()
    const {user, system} = process.cpuUsage(start)
    samples.push((user + system) / iterations)
  }

  return median(samples)
}

/** The reader alone, and the whole check of saved output as `status --input` runs it (read, judge, render). */
async function timeStatus(devices, stateDir) {
  const text = syntheticStatus(devices)
  const config = validateConfig({}, 'bench')
  const deps = {now: () => Date.now()}
  const check = async () => {
    const result = await checkStatus(deps, {config, stateDir, pools: [], input: {name: 'bench', read: async () => text}})
    renderStatus(result, {color: false, now: result.checkedAt})
  }

  return {parse: await timeInProcess(devices, 20_000, () => parseStatus(text)), check: await timeInProcess(devices, 2000, check)}
}

try {
  await ensurePool()
  const dataDir = join(work, 'lightning')
  writeNodeDatabase(dataDir)
  const stateDir = join(work, 'state')
  // YAML, as `lnstore init` writes it.
  const configFile = join(work, 'config.yaml')
  const gateConfig = join(work, 'gate.yaml')
  const savedStatus = join(work, 'zpool-status.txt')
  writeFileSync(configFile, 'alerts: {}\n')
  writeFileSync(gateConfig, `dataDir: ${dataDir}\ndataset: ${POOL}/ln\npools:\n  - ${POOL}\n`)
  writeFileSync(savedStatus, (await $`zpool status ${POOL}`).stdout)
  const env = {LNSTORE_STATE_DIR: stateDir, LNSTORE_CONFIG: configFile, NO_COLOR: '1'}
  const lnstore = (label, args, extra = {}) => ({label, argv: [process.execPath, BIN, ...args], env: {...env, ...extra}})
  const labels = {floor: 'node -e 0 (start-up floor)', zpool: `zpool status ${POOL}`, sanoid: 'sanoid --monitor-health (the peer)'}
  const commands = [
    {label: labels.floor, argv: [process.execPath, '-e', '0']},
    {label: labels.zpool, argv: ['zpool', 'status', POOL]},
    lnstore('lnstore --version (CLI start-up)', ['--version']),
    lnstore(`lnstore status --pool ${POOL}`, ['status', '--pool', POOL]),
    lnstore(`lnstore status --pool ${POOL} --json`, ['status', '--pool', POOL, '--json']),
    lnstore('lnstore status --input FILE', ['status', '--input', savedStatus]),
    lnstore('lnstore preflight (live pool, node db)', ['preflight'], {LNSTORE_CONFIG: gateConfig}),
  ]
  if (BEFORE_BIN) {
    for (const command of commands.slice(3)) commands.push({...command, label: `${command.label} (before)`, argv: [process.execPath, BEFORE_BIN, ...command.argv.slice(2)]})
  }

  // Node reads and parses every certificate of NODE_EXTRA_CA_CERTS when it starts, before any code
  // runs (~35 ms of CPU here, more than Node's whole start without it); sanoid (Perl) does not.
  // Where this shell sets it, the hot commands and the floor are also timed without it, as cron,
  // systemd and the node's start gate run them (they do not inherit a login shell's environment).
  const extraCa = process.env.NODE_EXTRA_CA_CERTS ? ' (no NODE_EXTRA_CA_CERTS)' : null
  if (extraCa) {
    const hot = [labels.floor, `lnstore status --pool ${POOL}`, 'lnstore status --input FILE', 'lnstore preflight (live pool, node db)']
    if (BEFORE_BIN) hot.push(...hot.slice(1).map((label) => `${label} (before)`))
    for (const command of commands.filter(({label}) => hot.includes(label))) commands.push({...command, label: `${command.label}${extraCa}`, unset: ['NODE_EXTRA_CA_CERTS']})
  }

  for (const command of commands.slice(2)) {
    const result = spawnSync(command.argv[0], command.argv.slice(1), {encoding: 'utf8', env: environment(command)})
    // A benchmark of a failing command measures nothing: each must give its healthy answer.
    if (result.status !== 0) throw new Error(`${command.label} exited with ${result.status}: ${result.stdout}${result.stderr}`)
  }

  // Mode chironfs on the same machine; the replica behind answers CRITICAL (exit 2) by design.
  const chironfs = chironfsStatusCommands(work, BIN)
  chironfsCleanup = chironfs?.cleanup
  if (chironfs) commands.push(...chironfs.commands)
  if (await has('sanoid')) {
    writeFileSync(join(work, 'sanoid.conf'), `[${POOL}]\n\tuse_template = bench\n\n[template_bench]\n\tautosnap = no\n`)
    copyFileSync('/usr/share/sanoid/sanoid.defaults.conf', join(work, 'sanoid.defaults.conf'))
    commands.push({label: labels.sanoid, argv: ['sanoid', '--configdir', work, '--monitor-health']})
  }

  const loadBefore = loadavg()
  const times = timeCommands(commands)
  const loadAfter = loadavg()
  const floor = times.get(labels.floor)
  const zpool = times.get(labels.zpool)
  const sanoid = times.get(labels.sanoid)
  const load = (values) => values.map((value) => value.toFixed(2)).join(' ')
  console.log(`(a) end to end, zfs-fuse pool ${POOL}: wall time (median of ${RUNS} runs) and CPU time with children (mean)`)
  console.log(`    ${cpus().length} CPUs; load average (1, 5, 15 min) ${load(loadBefore)} before, ${load(loadAfter)} after: under load the wall times wait for a core, the CPU times show each command's own cost\n`)
  const width = Math.max(44, ...[...times.keys()].map((label) => label.length + 1))
  console.log(`${'command'.padEnd(width)}${'ms'.padStart(8)}${'× node -e 0'.padStart(13)}${'× zpool'.padStart(9)}${sanoid ? '× sanoid'.padStart(10) : ''}${'CPU ms'.padStart(9)}${sanoid ? '× sanoid'.padStart(10) : ''}`)
  for (const [label, {wall, cpu}] of times) {
    const ratios = [wall / floor.wall, wall / zpool.wall, ...(sanoid ? [wall / sanoid.wall] : [])].map((ratio, index) => ratio.toFixed(2).padStart([13, 9, 10][index]))
    console.log(`${label.padEnd(width)}${wall.toFixed(1).padStart(8)}${ratios.join('')}${cpu.toFixed(1).padStart(9)}${sanoid ? (cpu / sanoid.cpu).toFixed(2).padStart(10) : ''}`)
  }

  console.log('\ngoals of issue 20: wall time ratio (median), and CPU time ratio (mean; what a busy machine changes least)')
  const goal = (what, label, base, baseName, limit) => {
    const {wall, cpu} = times.get(label)
    const [wallRatio, cpuRatio] = [wall / base.wall, cpu / base.cpu]
    const verdict = (ratio) => (ratio <= limit ? 'met' : 'NOT met')
    console.log(`    ${what.padEnd(30)} ≤ ${limit.toFixed(1)}× ${baseName.padEnd(24)} wall ${wallRatio.toFixed(2)}×: ${verdict(wallRatio).padEnd(8)} CPU ${cpuRatio.toFixed(2)}×: ${verdict(cpuRatio)}`)
  }

  const goals = (suffix, floorBase) => {
    if (sanoid) {
      goal('lnstore status', `lnstore status --pool ${POOL}${suffix}`, sanoid, 'sanoid --monitor-health', 1.0)
      goal('lnstore preflight', `lnstore preflight (live pool, node db)${suffix}`, sanoid, 'sanoid --monitor-health', 1.0)
    } else {
      console.log('  sanoid is not installed, so the status and preflight goals cannot be measured: apt-get install sanoid (Debian/Ubuntu), then run it again')
    }

    goal('lnstore status --input FILE', `lnstore status --input FILE${suffix}`, floorBase, 'node -e 0', 1.6)
  }

  // The goals are judged as the commands run in service: cron, systemd's timers and the start gate
  // start them without a login shell's environment, and lnstore's units set no NODE_EXTRA_CA_CERTS.
  // Where this shell sets it, the figures with it are printed too: they are what a user of this
  // shell sees, ~35 ms of certificate parsing per Node start that sanoid (Perl) does not pay.
  if (extraCa) {
    console.log(`  as cron, systemd and the start gate run them, without NODE_EXTRA_CA_CERTS (node -e 0 without it too): the goals are judged on these`)
    goals(extraCa, times.get(`${labels.floor}${extraCa}`))
    console.log(`  in this shell's environment (NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}: every Node start parses it, sanoid does not), for information:`)
  }

  goals('', floor)
  console.log('\n(b) the status reader, and the whole check of saved output (read, judge, render), in process, CPU time, medians\n')
  console.log(`${'devices'.padStart(8)}${'µs/parse'.padStart(12)}${'µs/device'.padStart(11)}${'µs/check'.padStart(12)}${'µs/device'.padStart(11)}${'check × 10-device cost'.padStart(24)}`)
  const base = await timeStatus(10, stateDir)
  for (const devices of [10, 100, 1000, 4500]) {
    const {parse, check} = devices === 10 ? base : await timeStatus(devices, stateDir)
    const perDevice = (us) => (us / devices).toFixed(2).padStart(11)
    console.log(`${String(devices).padStart(8)}${parse.toFixed(1).padStart(12)}${perDevice(parse)}${check.toFixed(0).padStart(12)}${perDevice(check)}${(check / base.check).toFixed(1).padStart(24)}`)
  }
} finally {
  chironfsCleanup?.()
  // zfs-fuse says "busy" for a while after the last command: try again, and never delete the
  // files of a pool still imported (the shared daemon fails on a pool whose disks are gone).
  let destroyed = false
  for (let attempt = 0; attempt < 40 && !destroyed; attempt++) {
    const result = await $`zpool destroy -f ${POOL}`.nothrow()
    destroyed = result.exitCode === 0 || /no such pool/.test(result.stderr)
    if (!destroyed) await sleep(250)
  }

  if (destroyed) rmSync(work, {recursive: true, force: true})
  else console.error(`could not destroy the benchmark's pool ${POOL}: run \`zpool destroy -f ${POOL}\`, then remove ${work}`)
}
