#!/usr/bin/env node
// How fast a fault reaches the operator's mailbox with `lnstore monitor`: from an injected fault
// (a vdev of a real zfs-fuse mirror overwritten behind ZFS's back, then a scrub that finds it) to
// the alert received by a real SMTP server on loopback (STARTTLS, login). Each figure stands beside
// baselines measured in the same run: the monitor's check interval (the goal: within one interval
// plus a few seconds), the fault injection itself, and one `lnstore status` run (a check's floor).
// Usage: npm run bench [-- --runs N]   (root: it creates pools on sparse files)
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SMTPServer} from 'smtp-server'

const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5
const INTERVAL_SECONDS = 5
const BIN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../test/fixtures/smtp/', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'lnstore-bench-alert-'))
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const zpool = (...args) => execFileSync('zpool', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})

/** A real SMTP server; resolves each waiting run with the time its message arrived. */
function startSmtp() {
  let waiting = null
  const server = new SMTPServer({
    key: readFileSync(join(FIXTURES, 'key.pem')),
    cert: readFileSync(join(FIXTURES, 'cert.pem')),
    logger: false,
    onAuth: (auth, _session, callback) => callback(auth.password === 'bench' ? null : new Error('bad login'), {user: auth.username}),
    onData(stream, _session, callback) {
      stream.resume()
      stream.on('end', () => {
        waiting?.(Date.now())
        callback()
      })
    },
  })
  server.on('error', () => {})
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({server, port: server.server.address().port, nextMail: () => new Promise((wake) => (waiting = wake))}))
  })
}

function waitForScrub(pool) {
  while (/scrub in progress|scan: *scrub in progress/.test(zpool('status', pool))) execFileSync('sleep', ['0.05'])
}

/** Starts `lnstore monitor` and resolves once it has checked the healthy pool. */
function startMonitor(pool, env) {
  const child = spawn(process.execPath, [BIN, 'monitor', '--pool', pool, '--interval', `${INTERVAL_SECONDS}s`], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
      if (/^check: OK/m.test(output)) resolve(child)
      if (/^check: (?!OK)/m.test(output)) reject(new Error(`the pool is not healthy before the fault:\n${output}`))
    })
    child.on('close', (code) => reject(new Error(`lnstore monitor exited (${code}) before its first check:\n${output}`)))
  })
}

async function measure(run, smtp) {
  const dir = join(work, `run${run}`)
  const pool = `lnsbenchalert${process.pid}r${run}`
  execFileSync('mkdir', ['-p', dir])
  const disks = ['a', 'b'].map((name) => join(dir, name))
  for (const disk of disks) execFileSync('truncate', ['-s', '128M', disk])
  zpool('create', '-f', '-m', join(dir, 'mnt'), pool, 'mirror', ...disks)
  try {
    execFileSync('dd', ['if=/dev/urandom', `of=${join(dir, 'mnt', 'data')}`, 'bs=1M', 'count=40', 'conv=fsync', 'status=none'])
    zpool('scrub', pool)
    waitForScrub(pool)
    writeFileSync(join(dir, 'password'), 'bench\n')
    chmodSync(join(dir, 'password'), 0o600)
    const smtpSettings = {host: '127.0.0.1', port: smtp.port, tls: 'starttls', user: 'bench', passwordFile: join(dir, 'password'), caFile: join(FIXTURES, 'cert.pem')}
    writeFileSync(join(dir, 'config.json'), JSON.stringify({alerts: {to: ['ops@example.org'], smtp: smtpSettings}}))
    const env = {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: join(dir, 'config.json'), NO_COLOR: '1'}

    const statusStart = process.hrtime.bigint()
    spawnSync(process.execPath, [BIN, 'status', '--pool', pool, '--no-alert'], {env: {...process.env, ...env}, stdio: 'ignore'})
    const statusMs = Number(process.hrtime.bigint() - statusStart) / 1e6

    const monitor = await startMonitor(pool, env)
    const mail = smtp.nextMail()
    const faultAt = Date.now()
    execFileSync('dd', ['if=/dev/urandom', `of=${disks[0]}`, 'bs=1M', 'seek=8', 'count=40', 'conv=notrunc,fsync', 'status=none'])
    zpool('scrub', pool)
    waitForScrub(pool)
    const injectedMs = Date.now() - faultAt
    const latencyMs = (await mail) - faultAt
    monitor.kill('SIGTERM')
    await new Promise((resolve) => monitor.on('close', resolve))
    return {latencyMs, injectedMs, statusMs}
  } finally {
    // zfs-fuse at times answers "pool is busy" for a moment: try again rather than leave the pool behind.
    for (let attempt = 0; attempt < 40; attempt++) {
      if (spawnSync('zpool', ['destroy', '-f', pool], {stdio: 'ignore'}).status === 0) break
      if (spawnSync('zpool', ['list', pool], {stdio: 'ignore'}).status !== 0) break
      execFileSync('sleep', ['0.25'])
    }
  }
}

const smtp = await startSmtp()
try {
  if (spawnSync('zpool', ['list'], {stdio: 'ignore'}).status !== 0) throw new Error('no zpool answers: start zfs-fuse (or load ZFS) first; `npm run bench` runs bench/run.js first, which starts it')
  const results = []
  for (let run = 0; run < RUNS; run++) results.push(await measure(run, smtp))
  const interval = INTERVAL_SECONDS * 1000
  console.log(`\n(c) fault to mail with lnstore monitor (health check every ${INTERVAL_SECONDS} s), ${RUNS} runs, zfs-fuse mirror, SMTP with STARTTLS and login on loopback\n`)
  console.log(`${'run'.padStart(4)}${'fault→mail ms'.padStart(15)}${'injection ms'.padStart(14)}${'× interval'.padStart(12)}${'− injection, × interval'.padStart(25)}${'lnstore status ms'.padStart(19)}`)
  for (const [index, {latencyMs, injectedMs, statusMs}] of results.entries()) {
    console.log(`${String(index + 1).padStart(4)}${latencyMs.toFixed(0).padStart(15)}${injectedMs.toFixed(0).padStart(14)}${(latencyMs / interval).toFixed(2).padStart(12)}${((latencyMs - injectedMs) / interval).toFixed(2).padStart(25)}${statusMs.toFixed(0).padStart(19)}`)
  }

  const latency = median(results.map((result) => result.latencyMs))
  const worst = Math.max(...results.map((result) => result.latencyMs - result.injectedMs))
  const check = median(results.map((result) => result.statusMs))
  console.log(`median ${latency.toFixed(0)} ms = ${(latency / interval).toFixed(2)} × the interval; worst after the injection ${worst.toFixed(0)} ms = ${(worst / interval).toFixed(2)} × the interval`)
  console.log(`(one lnstore status alone: median ${check.toFixed(0)} ms; the goal: within the interval plus a few seconds)`)
} finally {
  smtp.server.close()
  rmSync(work, {recursive: true, force: true})
}
