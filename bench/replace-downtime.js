#!/usr/bin/env node
// How long the node is down during `lnstore replace-disk`, in both restart modes, on the same kind
// of pool: a zfs-fuse two-way mirror holding the node's dataset (with data to resilver) and the
// stand-in node writing to its SQLite database all the time. Printed side by side, each as a ratio
// against the conservative default (after-resilver) measured in the same run.
// Usage: npm run bench [-- --runs N]   (root: it creates pools on sparse files)
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 3
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const STANDIN = fileURLToPath(new URL('../src/demo/standin-node.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
const work = mkdtempSync(join(tmpdir(), 'lnstore-bench-replace-'))
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const run = (command, args) => execFileSync(command, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
const pools = []

/** One replace in `mode`: returns the node's downtime and the whole runbook's time, in seconds. */
function replaceOnce(mode, index) {
  const root = join(work, `${mode}-${index}`)
  mkdirSync(root)
  const pool = `lnsbenchrep${process.pid}x${pools.length}`
  pools.push(pool)
  const disks = ['a', 'b', 'spare'].map((name) => join(root, name))
  for (const disk of disks) run('truncate', ['-s', '256M', disk])
  run('zpool', ['create', '-f', '-m', 'none', pool, 'mirror', disks[0], disks[1]])
  const dataDir = join(root, '.lightning')
  run('zfs', ['create', '-o', `mountpoint=${dataDir}`, `${pool}/lightning`])
  run('dd', ['if=/dev/urandom', `of=${join(dataDir, 'filler')}`, 'bs=1M', 'count=60', 'conv=fsync', 'status=none'])
  const start = `nohup ${process.execPath} --import ${TSX} ${STANDIN} --data-dir ${dataDir} --ack-log ${join(root, 'acks.log')} >>${join(root, 'node.log')} 2>&1 </dev/null &`
  run('sh', ['-c', start])
  while (!existsSync(join(dataDir, 'bitcoin', 'lightning-rpc'))) execFileSync('sleep', ['0.05'])

  const began = process.hrtime.bigint()
  const result = spawnSync(
    process.execPath,
    [BIN, 'replace-disk', disks[0], disks[2], '--restart', mode, '--allow-files', '--yes', '--json', '--data-dir', dataDir, '--node-kind', 'rpc', '--node-start-command', start],
    {encoding: 'utf8', env: {...process.env, LNSTORE_STATE_DIR: join(root, 'state'), LNSTORE_CONFIG: join(root, 'config.yaml')}},
  )
  const total = Number(process.hrtime.bigint() - began) / 1e9
  stopNode(join(dataDir, 'lightningd-bitcoin.pid'))
  if (result.status !== 0) throw new Error(`replace-disk (${mode}) failed: ${result.stdout}${result.stderr}`)
  return {downtime: JSON.parse(result.stdout).downtimeSeconds, total}
}

/**
 * Stops the stand-in and waits until it has exited: its open database keeps the dataset busy, and
 * `zpool destroy` of a busy pool fails (pools were left behind when it ran right after the kill).
 */
function stopNode(pidPath) {
  if (!existsSync(pidPath)) return
  const pid = Number(readFileSync(pidPath, 'utf8').trim())
  const signal = (name) => {
    try {
      process.kill(pid, name)
      return true
    } catch {
      return false
    }
  }

  if (!signal('SIGTERM')) return
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; execFileSync('sleep', ['0.1'])) if (!signal(0)) return
  signal('SIGKILL')
}

try {
  if (spawnSync('zpool', ['list'], {stdio: 'ignore'}).status !== 0) throw new Error('no zpool answers: start zfs-fuse (or run npm test once, which starts it)')
  const modes = ['after-resilver', 'after-replace']
  const samples = Object.fromEntries(modes.map((mode) => [mode, []]))
  for (let index = 0; index < RUNS; index++) for (const mode of modes) samples[mode].push(replaceOnce(mode, index))
  const figures = modes.map((mode) => ({mode, downtime: median(samples[mode].map((sample) => sample.downtime)), total: median(samples[mode].map((sample) => sample.total))}))
  const [base] = figures
  console.log(`replace-disk on a zfs-fuse mirror (60 MiB to resilver), stand-in node writing; median of ${RUNS} runs\n`)
  console.log(`${'--restart'.padEnd(16)}${'node down s'.padStart(13)}${'× default'.padStart(11)}${'runbook s'.padStart(12)}${'× default'.padStart(11)}`)
  for (const {mode, downtime, total} of figures) {
    console.log(`${mode.padEnd(16)}${downtime.toFixed(1).padStart(13)}${(downtime / base.downtime).toFixed(2).padStart(11)}${total.toFixed(1).padStart(12)}${(total / base.total).toFixed(2).padStart(11)}`)
  }
} finally {
  for (const pool of pools) {
    const destroyed = spawnSync('zpool', ['destroy', '-f', pool], {encoding: 'utf8'})
    if (destroyed.status !== 0) console.error(`could not destroy the bench's pool ${pool} (${destroyed.stderr.trim()}): destroy it with zpool destroy -f ${pool}`)
  }
  rmSync(work, {recursive: true, force: true})
}
