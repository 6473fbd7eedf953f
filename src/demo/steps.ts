import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {copyFile, mkdir, open, readFile, rm, truncate, writeFile} from 'node:fs/promises'
import {userInfo} from 'node:os'
import {join} from 'node:path'

import {pidFile, rpcSocket} from '../node/adapter.js'
import {readDatabase} from '../node/data-version.js'
import type {StorageEvent} from '../state/events.js'
import type {StatusResult, VdevView} from '../storage/view.js'
import {commandLine} from '../system/runner.js'
import {checkAcknowledged, CLN_WRITER, readAcknowledged} from './cln.js'
import {expectExit, indent, running, StepFailed, type DemoContext} from './context.js'
import {ensureZfs} from './zfs-backend.js'

/** One step of the demo: what it shows, and the work that proves it. */
export interface DemoStepSpec {
  id: string
  title: string
  run(context: DemoContext): Promise<string[]>
}

const DISK_MB = 256
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The demo's story, one step after another: each gets the shared context and returns what it saw, or throws StepFailed. */
export const DEMO_STEPS: DemoStepSpec[] = [
  {id: 'pool', title: 'A ZFS mirror of two file-backed disks (lnstore init)', run: makePool},
  {id: 'node', title: 'A Lightning node writes to its database on the pool (the real lightningd when it is at hand here)', run: startWritingNode},
  {id: 'scrub', title: 'A disk goes bad behind ZFS: lnstore scrub finds and repairs it, lnstore status says which', run: corruptAndScrub},
  {id: 'alert', title: 'The alert email arrives (a mail server inside the demo)', run: alertArrives},
  {id: 'replace', title: 'lnstore replace-disk swaps the bad disk; every write the node made is still there', run: replaceDisk},
  {id: 'rollback', title: 'An older copy of the database is put in place: lnstore preflight refuses to start the node', run: refuseOlderData},
]

async function makePool(ctx: DemoContext): Promise<string[]> {
  const {deps, sandbox, pool, paths, bad, good, startNode, cln, nodeSettings, inbox, lnstore} = ctx
  const zfs = await ensureZfs(deps)
  ctx.report.zfs = zfs.kind
  ctx.releaseZfs = zfs.release
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
      `  network: ${nodeSettings.network}`,
      `  startCommand: ${JSON.stringify(startNode)}`,
      // The start gate asks the node's own hsmtool which node hsm_secret belongs to.
      ...(cln ? [`  hsmtool: ${JSON.stringify(cln.hsmtool)}`] : []),
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
}

async function startWritingNode(ctx: DemoContext): Promise<string[]> {
  const {deps, pool, paths, database, startNode, node, cln, standInReason, lnstore} = ctx
  const started = await deps.runner.run(['sh', '-c', startNode])
  if (started.exitCode !== 0) throw new StepFailed(`the ${cln ? 'lightningd' : 'stand-in'} node did not start (exit ${started.exitCode}): ${started.stderr || `its log: ${paths.nodeLog}`}`)
  const info = await node.waitUntilAnswering(60_000)
  if (cln) startWriter(ctx)
  // Real blocks for the corruption below to hit (ZFS only checks blocks that hold data).
  const filler = await open(join(paths.dataDir, 'demo-filler.bin'), 'w')
  for (let written = 0; written < 64; written++) await filler.write(randomBytes(1024 ** 2))
  await filler.sync()
  await filler.close()
  if (cln) await acknowledgedMore(ctx, 10)
  else await sleep(1000)
  // The copy preflight will be shown later: a consistent snapshot through SQLite's backup API.
  const {default: Database} = await import('better-sqlite3')
  const live = new Database(database, {readonly: true, timeout: 10_000})
  await live.backup(paths.olderCopy)
  live.close()
  ctx.olderVersion = (await readDatabase(paths.olderCopy)).dataVersion ?? 0
  // A new pool has not been scrubbed yet: the first scrub sets the baseline.
  expectExit(await lnstore(['scrub', '--wait', '--pool', pool]), [0], 'lnstore scrub --wait on the healthy pool')
  const status = await lnstore(['status'])
  expectExit(status, [0], 'lnstore status')
  const now = await readDatabase(database, {quickCheck: false})
  return [
    cln
      ? `the real lightningd (Core Lightning, regtest on a chain of its own) ${info.id} answers getinfo; a writer asks it for new addresses, each one a write it commits to its database before answering`
      : `the stand-in node (src/demo/standin-node.ts) answers getinfo and writes every 20 ms: the real lightningd is not at hand here (${standInReason})`,
    `data_version ${ctx.olderVersion} when an older copy was kept aside, ${now.dataVersion} now`,
    'first scrub: clean; lnstore status: OK (and it recorded the highest data_version it saw)',
  ]
}

/** The writer of src/demo/cln-writer.ts: `newaddr` in a loop, each answer logged off the pool. */
function startWriter(ctx: DemoContext): void {
  const writer = spawn(process.execPath, [CLN_WRITER, rpcSocket(ctx.nodeSettings), ctx.database, ctx.paths.ackLog], {stdio: ['ignore', 'ignore', 'ignore']})
  running.add(writer)
  writer.on('exit', () => running.delete(writer))
  ctx.writer = writer
}

/** Stops the writer; resolves once it has exited (an answer in flight is logged whole or not at all). */
async function stopWriter(ctx: DemoContext): Promise<void> {
  const {writer} = ctx
  ctx.writer = null
  if (!writer || writer.exitCode !== null || writer.signalCode !== null) return
  const exited = new Promise((resolve) => writer.once('exit', resolve))
  writer.kill('SIGTERM')
  await exited
}

/** Waits until the real node has acknowledged `count` more writes (it runs and writes). */
async function acknowledgedMore(ctx: DemoContext, count: number, timeoutMs = 60_000): Promise<void> {
  const target = readAcknowledged(ctx.paths.ackLog).length + count
  const deadline = ctx.deps.now() + timeoutMs
  while (readAcknowledged(ctx.paths.ackLog).length < target) {
    if (ctx.deps.now() > deadline) throw new StepFailed(`lightningd acknowledged ${readAcknowledged(ctx.paths.ackLog).length} of ${target} writes within ${timeoutMs / 1000} s (its log: ${ctx.paths.nodeLog})`)
    await sleep(100)
  }
}

async function corruptAndScrub(ctx: DemoContext): Promise<string[]> {
  const {pool, bad, lnstore} = ctx
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
}

async function alertArrives(ctx: DemoContext): Promise<string[]> {
  const {options, bad, inbox, say} = ctx
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
}

async function replaceDisk(ctx: DemoContext): Promise<string[]> {
  const {options, paths, bad, spare, say, lnstore} = ctx
  const args = ['replace-disk', bad, spare, '--allow-files', '--yes']
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

  return [...(await (ctx.cln ? everyAddressKept(ctx) : everyWriteKept(ctx))), `node down for ${await downtime(ctx)} s while the disk was replaced`]
}

async function refuseOlderData(ctx: DemoContext): Promise<string[]> {
  const {paths, database, node, lnstore} = ctx
  await stopWriter(ctx)
  await node.stop(30_000)
  const before = await lnstore(['preflight'])
  expectExit(before, [0], 'lnstore preflight on the data the node left')
  const stoppedAt = (await readDatabase(database, {quickCheck: false})).dataVersion
  // Behind the node's back: what a careless restore from a backup does.
  await copyFile(paths.olderCopy, database)
  const after = await lnstore(['preflight'])
  expectExit(after, [2], 'lnstore preflight on the older copy')
  if (!/data_version/.test(after.stdout)) throw new StepFailed('lnstore preflight refused, but not because of the data_version')
  return [
    `node stopped at data_version ${stoppedAt}; preflight: may start`,
    `older copy (data_version ${ctx.olderVersion}) put in place${ctx.cln ? ' (lightningd itself would start on it without a word, and hand out again addresses it already gave out)' : ''}; preflight: DO NOT START (exit 2), and the refusal is mailed`,
  ]
}

/**
 * The real node, back after the replace: it writes again, every address it handed out is still in
 * its wallet, data_version never went below what it acknowledged, and the database passes quick_check.
 */
async function everyAddressKept(ctx: DemoContext): Promise<string[]> {
  await acknowledgedMore(ctx, 5)
  await stopWriter(ctx)
  const check = await checkAcknowledged(rpcSocket(ctx.nodeSettings), ctx.database, ctx.paths.ackLog)
  const reading = await readDatabase(ctx.database)
  if (reading.check !== 'ok') throw new StepFailed(`the database fails quick_check: ${reading.check}`)
  if (check.lost.length > 0) throw new StepFailed(`${check.lost.length} of the ${check.acknowledged} addresses lightningd handed out are no longer in its wallet (first: ${check.lost[0]})`)
  if (check.dataVersion < check.highestAcknowledgedDataVersion) throw new StepFailed(`data_version ${check.dataVersion} is below ${check.highestAcknowledgedDataVersion}, seen after an acknowledged write`)
  return [`${check.acknowledged} addresses handed out by lightningd (each a write it committed), all still in its wallet (key index up to ${check.bip86MaxIndex}); data_version ${check.dataVersion}, never below what it acknowledged; quick_check ok`]
}

/** The stand-in acknowledged each write after committing it: all must be in the database, in order, and it must pass quick_check. */
async function everyWriteKept({paths, database}: DemoContext): Promise<string[]> {
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

async function downtime({paths}: DemoContext): Promise<string> {
  const events = JSON.parse(await readFile(join(paths.state, 'events.json'), 'utf8')) as StorageEvent[]
  const seconds = events.findLast((event) => event.kind === 'disk-replaced')?.detail.downtimeSeconds
  return typeof seconds === 'number' ? seconds.toFixed(1) : '?'
}

export async function cleanup(ctx: DemoContext): Promise<string[]> {
  const {deps, options, sandbox, pool, paths, node, nodeSettings, inbox} = ctx
  await stopWriter(ctx)
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
  await ctx.releaseZfs()
  return lines
}
