import {spawn, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {copyFile, mkdir, mkdtemp, open, readFile, rm, truncate, writeFile} from 'node:fs/promises'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {nodeAdapter, pidFile, type NodeSettings} from '../node/adapter.js'
import {readDatabase} from '../node/data-version.js'
import type {StorageEvent} from '../state/events.js'
import type {StatusResult, VdevView} from '../storage/view.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {Inbox} from './inbox.js'
import {ensureZfs} from './zfs-backend.js'

/**
 * `lnstore demo`: the whole story of lnstore, for real, in a throwaway sandbox: a ZFS mirror on two
 * files, a stand-in Lightning node writing to it, a corrupted disk found by a scrub, the alert
 * mail, a disk replaced around the running node with every write kept, and a start refused on an
 * older copy of the data. Every step runs lnstore's own commands, as a user would.
 */

export interface DemoStep {
  id: string
  title: string
  result: 'passed' | 'failed' | 'skipped'
  /** What the step saw: the proof that it worked, or why it failed. */
  detail: string[]
  seconds: number
}

export interface DemoReport {
  sandbox: string
  zfs: string | null
  pool: string
  kept: boolean
  steps: DemoStep[]
  passed: boolean
}

export interface DemoOptions {
  /** argv that runs lnstore (node and bin/run.js). */
  lnstore: string[]
  keep: boolean
  /** Print lnstore's own output, and let replace-disk draw its live task list on this terminal. */
  show: boolean
  out: (line: string) => void
}

interface LnstoreRun {
  exitCode: number | null
  stdout: string
  /** stdout and stderr interleaved as they were written: the plan, the task list, the result. */
  output: string
}

/** lnstore commands the demo is running, to stop them when it is interrupted. */
const running = new Set<ChildProcess>()

/**
 * Runs a command to its end, keeping its standard output and both streams in the order they came.
 * Its own spawn, not the runner's: the demo shows lnstore's output interleaved as it was written
 * (the runner keeps the streams apart), and stops these runs when it is interrupted (`running`).
 */
function runInOrder(argv: string[]): Promise<LnstoreRun> {
  const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  running.add(child)
  child.on('close', () => running.delete(child))
  let stdout = ''
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
    output += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => (output += chunk))
  return new Promise((resolve) => child.on('close', (exitCode) => resolve({exitCode, stdout, output})))
}

/** The steps, in order; the last one always runs. */
const STEPS = [
  ['pool', 'A ZFS mirror of two file-backed disks (lnstore init)'],
  ['node', 'A stand-in Lightning node writes channel updates to its database on the pool'],
  ['scrub', 'A disk goes bad behind ZFS: lnstore scrub finds and repairs it, lnstore status says which'],
  ['alert', 'The alert email arrives (a mail server inside the demo)'],
  ['replace', 'lnstore replace-disk swaps the bad disk; every write the node made is still there'],
  ['rollback', 'An older copy of the database is put in place: lnstore preflight refuses to start the node'],
  ['cleanup', 'Clean up'],
] as const

type StepId = (typeof STEPS)[number][0]

class StepFailed extends Error {}

const DISK_MB = 256
const STANDIN = fileURLToPath(new URL('standin-node.js', import.meta.url))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runDemo(deps: Deps, options: DemoOptions): Promise<DemoReport> {
  const sandbox = await mkdtemp(join(tmpdir(), 'lnstore-demo-'))
  const pool = `lnsdemo${process.pid}`
  const paths = {
    disks: ['disk-a', 'disk-b', 'disk-c'].map((name) => join(sandbox, 'disks', name)),
    dataDir: join(sandbox, 'lightning'),
    config: join(sandbox, 'lnstore.yaml'),
    state: join(sandbox, 'state'),
    ackLog: join(sandbox, 'node-acknowledged-writes.log'),
    nodeLog: join(sandbox, 'node.log'),
    olderCopy: join(sandbox, 'older-copy.sqlite3'),
  }
  const database = join(paths.dataDir, 'bitcoin', 'lightningd.sqlite3')
  const [bad, good, spare] = paths.disks
  const startNode = `nohup ${commandLine([process.execPath, STANDIN, '--data-dir', paths.dataDir, '--ack-log', paths.ackLog])} >>${paths.nodeLog} 2>&1 </dev/null &`
  const nodeSettings: NodeSettings = {kind: 'rpc', network: 'bitcoin', unit: 'lightningd', startCommand: startNode, dataDir: paths.dataDir}
  const node = nodeAdapter(deps, nodeSettings)
  const inbox = new Inbox({authOptional: true, disabledCommands: ['STARTTLS']})
  const report: DemoReport = {sandbox, zfs: null, pool, kept: options.keep, steps: [], passed: false}
  /** Stops what the demo started for ZFS (the zfs-fuse daemon); set once ZFS is found. */
  let releaseZfs = async () => {}
  let olderVersion = 0

  const say = (line = '') => options.out(line)
  const indent = (text: string) => text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n')
  /** Runs lnstore as a user would; prints the command and, unless `quiet`, its output as it came. */
  const lnstore = async (args: string[], quiet = false): Promise<LnstoreRun> => {
    if (options.show) say(`  $ lnstore ${commandLine(args)}`)
    const result = await runInOrder([...options.lnstore, ...args, '--config', paths.config])
    if (options.show && result.output.trim() && !quiet) say(indent(result.output))
    return result
  }

  const expectExit = (result: LnstoreRun, codes: number[], what: string) => {
    if (!codes.includes(result.exitCode ?? -1)) throw new StepFailed(`${what} exited with ${result.exitCode} (expected ${codes.join(' or ')}): ${result.output.trim().split('\n').slice(-3).join(' ')}`)
  }

  const work: Record<Exclude<StepId, 'cleanup'>, () => Promise<string[]>> = {
    async pool() {
      const zfs = await ensureZfs(deps)
      report.zfs = zfs.kind
      releaseZfs = zfs.release
      await mkdir(join(sandbox, 'disks'))
      for (const disk of paths.disks) {
        await writeFile(disk, '')
        await truncate(disk, DISK_MB * 1024 ** 2)
      }

      const port = await inbox.start()
      await writeFile(
        paths.config,
        [
          `# lnstore demo ${new Date(deps.now()).toISOString()}: everything lives in ${sandbox}`,
          `stateDir: ${paths.state}`,
          'node:',
          '  kind: rpc',
          `  startCommand: ${JSON.stringify(startNode)}`,
          '  stopTimeoutSeconds: 30',
          'alerts:',
          '  to: [you@example.org]',
          '  from: lnstore-demo@localhost',
          `  smtp: {host: 127.0.0.1, port: ${port}, tls: none}`,
          '',
        ].join('\n'),
      )
      const init = await lnstore(['init', '--mirror', bad, good, '--pool', pool, '--data-dir', paths.dataDir, '--user', userInfo().username, '--allow-files', '--yes'], true)
      expectExit(init, [0], 'lnstore init')
      return [`ZFS: ${zfs.kind}`, `pool ${pool}: mirror of ${bad} and ${good} (${DISK_MB} MiB files), dataset mounted at ${paths.dataDir}`]
    },

    async node() {
      const started = await deps.runner.run(['sh', '-c', startNode])
      if (started.exitCode !== 0) throw new StepFailed(`the stand-in node did not start: ${started.stderr}`)
      const info = await node.waitUntilAnswering(30_000)
      // Real blocks for the corruption below to hit (ZFS only checks blocks that hold data).
      const filler = await open(join(paths.dataDir, 'demo-filler.bin'), 'w')
      for (let written = 0; written < 64; written++) await filler.write(randomBytes(1024 ** 2))
      await filler.sync()
      await filler.close()
      await sleep(1000)
      // The copy preflight will be shown later: a consistent snapshot through SQLite's backup API.
      const {default: Database} = await import('better-sqlite3')
      const live = new Database(database, {readonly: true})
      await live.backup(paths.olderCopy)
      live.close()
      olderVersion = (await readDatabase(paths.olderCopy)).dataVersion ?? 0
      // A new pool has not been scrubbed yet: the first scrub sets the baseline.
      expectExit(await lnstore(['scrub', '--wait', '--pool', pool]), [0], 'lnstore scrub --wait on the healthy pool')
      const status = await lnstore(['status'])
      expectExit(status, [0], 'lnstore status')
      const now = await readDatabase(database, {quickCheck: false})
      return [
        `node ${info.alias ?? info.id} answers getinfo; data_version ${olderVersion} when an older copy was kept aside, ${now.dataVersion} now`,
        'first scrub: clean; lnstore status: OK (and it recorded the highest data_version it saw)',
      ]
    },

    async scrub() {
      // A disk that returns wrong data, as a failing one does: 40 MiB of noise in the middle of disk-a.
      const file = await open(bad, 'r+')
      for (let offset = 8; offset < 48; offset++) await file.write(randomBytes(1024 ** 2), 0, 1024 ** 2, offset * 1024 ** 2)
      await file.sync()
      await file.close()
      const scrub = await lnstore(['scrub', '--wait', '--pool', pool])
      expectExit(scrub, [1, 2], 'lnstore scrub --wait (a finding: exit 1 or 2)')
      await lnstore(['status'])
      const status = JSON.parse((await lnstore(['status', '--json'], true)).stdout) as StatusResult
      const leaves = (vdevs: VdevView[]): VdevView[] => vdevs.flatMap((vdev) => [vdev, ...leaves(vdev.children)])
      const device = leaves(status.pools[0]?.vdevs ?? []).find((candidate) => candidate.name === bad)
      if (!device?.cksum) throw new StepFailed(`lnstore status shows no checksum errors on ${bad}`)
      return [`lnstore scrub: ${pool} repaired; ${bad}: ${device.cksum} checksum errors`, `lnstore status: ${status.verdict}`]
    },

    async alert() {
      // unref: a timer left running would keep the process alive after the demo ended.
      const timeout = new Promise<null>((resolve) => setTimeout(resolve, 30_000, null).unref())
      const arrived = await Promise.race([inbox.waitFor(1), timeout])
      const mail = arrived?.find((message) => message.subject.includes(bad) || message.text.includes(bad))
      if (!mail) throw new StepFailed(`no alert about ${bad} arrived within 30 s (${inbox.messages.length} other messages)`)
      if (options.show) {
        say(`  To: ${mail.to.join(', ')}`)
        say(`  Subject: ${mail.subject}`)
        say(indent(mail.text.split('\n').slice(0, 24).join('\n')))
      }

      return [`"${mail.subject}" delivered to ${mail.to.join(', ')}`]
    },

    async replace() {
      const args = ['replace-disk', bad, spare, '--allow-files', '--i-understand', '--yes']
      if (options.show && process.stderr.isTTY) {
        // The live task list (listr2) needs the terminal itself: a spawn with inherited streams, not the runner.
        say(`  $ lnstore ${commandLine(args)}`)
        const child = spawn(options.lnstore[0], [...options.lnstore.slice(1), ...args, '--config', paths.config], {stdio: ['ignore', 'inherit', 'inherit']})
        running.add(child)
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
        if (code !== 0) throw new StepFailed(`lnstore replace-disk exited with ${code}`)
      } else {
        expectExit(await lnstore(args), [0], 'lnstore replace-disk')
      }

      return [...(await everyWriteKept()), `node down for ${await downtime()} s while the disk was replaced`]
    },

    async rollback() {
      await node.stop(30_000)
      const before = await lnstore(['preflight'])
      expectExit(before, [0], 'lnstore preflight on the data the node left')
      const stoppedAt = (await readDatabase(database, {quickCheck: false})).dataVersion
      // Behind the node's back: what a careless restore from a backup does.
      await copyFile(paths.olderCopy, database)
      const after = await lnstore(['preflight'])
      expectExit(after, [2], 'lnstore preflight on the older copy')
      if (!/data_version/.test(after.stdout)) throw new StepFailed('lnstore preflight refused, but not because of the data_version')
      return [`node stopped at data_version ${stoppedAt}; preflight: may start`, `older copy (data_version ${olderVersion}) put in place; preflight: DO NOT START (exit 2), and the refusal is mailed`]
    },
  }

  /** The node acknowledged each write after committing it: all must be in the database, in order, and it must pass quick_check. */
  async function everyWriteKept(): Promise<string[]> {
    const acknowledged = (await readFile(paths.ackLog, 'utf8')).trim().split('\n').map(Number)
    const reading = await readDatabase(database)
    const {default: Database} = await import('better-sqlite3')
    const db = new Database(database, {readonly: true})
    const kept = new Set((db.prepare('SELECT version FROM writes').all() as {version: number}[]).map((row) => row.version))
    db.close()
    const missing = acknowledged.filter((version) => !kept.has(version))
    const last = Math.max(...acknowledged)
    const gaps = Array.from({length: last}, (_, index) => index + 1).filter((version) => !kept.has(version))
    if (reading.check !== 'ok') throw new StepFailed(`the database fails quick_check: ${reading.check}`)
    if (missing.length > 0) throw new StepFailed(`${missing.length} acknowledged writes are missing (first: data_version ${missing[0]})`)
    if (gaps.length > 0) throw new StepFailed(`data_version is not continuous: ${gaps.length} versions missing (first: ${gaps[0]})`)
    return [`${acknowledged.length} writes acknowledged by the node, all present, data_version 1 to ${last} without a gap; quick_check ok`]
  }

  async function downtime(): Promise<string> {
    const events = JSON.parse(await readFile(join(paths.state, 'events.json'), 'utf8')) as StorageEvent[]
    const seconds = events.findLast((event) => event.kind === 'disk-replaced')?.detail.downtimeSeconds
    return typeof seconds === 'number' ? seconds.toFixed(1) : '?'
  }

  async function cleanup(): Promise<string[]> {
    const pid = Number((await readFile(pidFile(nodeSettings), 'utf8').catch(() => '')).trim())
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {}
    }

    await node.stop(10_000).catch(() => {})
    await inbox.stop()
    if (options.keep) {
      return [`kept: ${sandbox} (the node is stopped)`, `explore: sudo lnstore status --config ${paths.config}`, `remove it with: sudo zpool destroy ${pool} && sudo rm -rf ${sandbox}`]
    }

    const lines: string[] = []
    // Also when init was interrupted before it said it was done.
    if ((await deps.runner.run(['zpool', 'list', '-H', pool])).exitCode === 0) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const destroyed = await deps.runner.run(['zpool', 'destroy', '-f', pool])
        if (destroyed.exitCode === 0 || /no such pool/.test(destroyed.stderr)) break
        await sleep(250)
      }

      lines.push(`pool ${pool} destroyed`)
    }

    await rm(sandbox, {recursive: true, force: true})
    lines.push(`${sandbox} removed`)
    await releaseZfs()
    return lines
  }

  let failed = false
  let cleaned = false
  const interrupt = () => {
    say('\nInterrupted: cleaning up')
    for (const child of running) child.kill('SIGTERM')
    if (!cleaned) void cleanup().finally(() => process.exit(130))
  }

  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  try {
    for (const [id, title] of STEPS) {
      const started = deps.now()
      say(`\n== ${title}`)
      let step: DemoStep
      if (failed && id !== 'cleanup') {
        step = {id, title, result: 'skipped', detail: ['an earlier step failed'], seconds: 0}
      } else {
        try {
          const detail = id === 'cleanup' ? await cleanup() : await work[id]()
          cleaned ||= id === 'cleanup'
          step = {id, title, result: 'passed', detail, seconds: 0}
        } catch (error) {
          failed = true
          step = {id, title, result: 'failed', detail: [(error as Error).message], seconds: 0}
        }
      }

      step.seconds = Math.round((deps.now() - started) / 100) / 10
      report.steps.push(step)
      for (const line of step.detail) say(`  ${step.result === 'passed' ? 'ok' : step.result.toUpperCase()}: ${line}`)
    }
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  }

  report.passed = report.steps.every((step) => step.result === 'passed')
  return report
}
