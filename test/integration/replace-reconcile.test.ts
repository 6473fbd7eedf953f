import Database from 'better-sqlite3'
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {BIN, lnstore, lnstoreAsync} from '../support/cli.js'
import {ClnNode, NETWORK} from '../support/cln.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {ensureZfs, listsDevice, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'
import {journalSteps, REPLACE_STEPS_TO_KILL_AFTER, stepsDone} from '../support/journal.js'
import {waitUntil} from '../support/wait.js'

const STANDIN = fileURLToPath(new URL('../../src/demo/standin-node.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

interface Finding {
  verdict: string
  message: string
  next?: string
}

/** Every finding of a `lnstore status --json` result: the host's, each pool's, each device's. */
function allFindings(status: {findings: Finding[]; pools: {findings: Finding[]; vdevs: unknown[]}[]}): Finding[] {
  const devices = (vdevs: any[]): Finding[] => vdevs.flatMap((vdev) => [...(vdev.findings ?? []), ...devices(vdev.children)])
  return [...status.findings, ...status.pools.flatMap((pool) => [...pool.findings, ...devices(pool.vdevs)])]
}

/**
 * Issue 15: a replace-disk run interrupted at any point can be finished or taken back whatever
 * happened meanwhile (the node started again by someone else, a second --resume), `status` and
 * `preflight` say that a run is open, and every `next:` lnstore prints for a pool or device is
 * accepted when run as printed. On zfs-fuse.
 *
 * The kills with the node started again by someone else run against the real lightningd (on a
 * fake regtest chain, test/support/cln.ts). The in-repo stand-in (src/demo/standin-node.ts) is used
 * only where the real node cannot show the case here: in-flight HTLCs (the real node has no chain
 * to open channels on), a node that takes seconds to stop (so that a second --resume meets the
 * first one alive), and the advice cases, which need no node at all.
 */
describe('replace-disk reconciles with the world; open runs are visible; advice is executable (zfs-fuse)', function () {
  const sandbox = new ZfsSandbox()
  const pidFiles: string[] = []
  const clnNodes: ClnNode[] = []
  let count = 0

  before(ensureZfs)
  // The nodes first (the real ones stop cleanly), then the pools they ran on.
  after(async function () {
    this.timeout(300_000)
    for (const cln of clnNodes) await cln.cleanup()
    for (const pidPath of pidFiles) signalNode(pidPath, 'SIGKILL')
    sandbox.cleanup()
  })

  interface Case {
    pool: PoolHandle
    dataDir: string
    ackLog: string
    pidPath: string
    env: NodeJS.ProcessEnv
    journal: string
    root: string
    startNode(extra?: string[]): Promise<void>
    run(args: string[]): ReturnType<typeof lnstore>
  }

  /** A pool holding the node's dataset, a config naming it and the stand-in node (started unless `node: false`). */
  async function setup(options: {layout?: string[]; disks?: number; diskMb?: number; fillerMb?: number; node?: boolean; nodeArgs?: string[]} = {}): Promise<Case> {
    const id = count++
    const root = join(sandbox.dir, `rc-${id}`)
    mkdirSync(root, {recursive: true})
    const pool = sandbox.createPool(`lnsrc${id}x`, options.layout ?? ['mirror'], sandbox.devices(options.disks ?? 2, options.diskMb ?? 256))
    const dataDir = join(root, '.lightning')
    const dataset = `${pool.name}/lightning`
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, dataset])
    if (options.fillerMb) sh('dd', ['if=/dev/urandom', `of=${join(dataDir, 'filler')}`, 'bs=1M', `count=${options.fillerMb}`, 'conv=fsync', 'status=none'])
    const ackLog = join(root, 'acks.log')
    const pidPath = join(dataDir, 'lightningd-bitcoin.pid')
    pidFiles.push(pidPath)
    const command = (extra: string[]) => `nohup ${process.execPath} --import ${TSX} ${STANDIN} --data-dir ${dataDir} --ack-log ${ackLog} ${extra.join(' ')} >>${join(root, 'node.log')} 2>&1 </dev/null &`
    const startCommand = command(options.nodeArgs ?? [])
    const config = join(root, 'config.json')
    writeFileSync(config, JSON.stringify({pools: [pool.name], dataDir, dataset, mode: 'zfs', node: {kind: 'rpc', startCommand, stopTimeoutSeconds: 20, startTimeoutSeconds: 60}}))
    const env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(root, 'state')}
    const startNode = async (extra = options.nodeArgs ?? []) => {
      sh('sh', ['-c', command(extra)])
      await waitUntil('the node answers', () => existsSync(pidPath) && existsSync(join(dataDir, 'bitcoin', 'lightning-rpc')), Boolean)
    }

    if (options.node !== false) await startNode()
    return {pool, dataDir, ackLog, pidPath, env, root, startNode, journal: join(root, 'state', 'runbooks', 'replace-disk.json'), run: (args) => lnstore(args, {env})}
  }

  interface RealCase {
    pool: PoolHandle
    cln: ClnNode
    env: NodeJS.ProcessEnv
    journal: string
    run(args: string[]): ReturnType<typeof lnstore>
  }


  /** A two-way mirror holding the real lightningd's data directory, the node running and writing (newaddr) all the time. */
  async function realSetup(): Promise<RealCase> {
    const id = count++
    const root = join(sandbox.dir, `real-${id}`)
    mkdirSync(root, {recursive: true})
    const pool = sandbox.createPool(`lnsrc${id}x`, ['mirror'], sandbox.devices(2, 256))
    const dataDir = join(root, '.lightning')
    const dataset = `${pool.name}/lightning`
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, dataset])
    const cln = await ClnNode.create(dataDir, join(root, 'work'))
    clnNodes.push(cln)
    cln.start()
    cln.startWriter()
    await cln.acknowledgedMore(3)
    const config = join(root, 'config.json')
    writeFileSync(config, JSON.stringify({pools: [pool.name], dataDir, dataset, mode: 'zfs', node: {kind: 'rpc', network: NETWORK, startCommand: cln.startCommand, stopTimeoutSeconds: 60, startTimeoutSeconds: 120}}))
    const env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(root, 'state')}
    return {pool, cln, env, journal: join(root, 'state', 'runbooks', 'replace-disk.json'), run: (args) => lnstore(args, {env})}
  }

  /** Every write the real node acknowledged is still there, and data_version never went below one seen after an acknowledged write. */
  async function expectRealWritesKept(c: RealCase): Promise<void> {
    await c.cln.acknowledgedMore(2)
    await c.cln.stopWriter()
    const check = await c.cln.checkWrites()
    expect(check.lost, JSON.stringify(check)).to.deep.equal([])
    expect(check.dataVersion).to.be.at.least(check.highestAcknowledgedDataVersion)
  }

  function signalNode(pidPath: string, signal: NodeJS.Signals): void {
    const pid = existsSync(pidPath) ? Number(readFileSync(pidPath, 'utf8')) : 0
    if (!pid) return
    try {
      process.kill(pid, signal)
    } catch {}
  }

  const nodeRunning = (c: Case) => existsSync(c.pidPath)
  const steps = (c: {journal: string}) => journalSteps(c.journal)
  const done = (c: {journal: string}) => stepsDone(c.journal)

  /** Stops the node, then checks that every write it acknowledged is in its database. */
  async function expectEveryWriteKept(c: Case): Promise<void> {
    signalNode(c.pidPath, 'SIGTERM')
    await waitUntil('the node has stopped', () => nodeRunning(c), (running) => !running)
    const db = new Database(join(c.dataDir, 'bitcoin', 'lightningd.sqlite3'), {readonly: true})
    try {
      const acknowledged = readFileSync(c.ackLog, 'utf8').trim().split('\n').map(Number)
      const kept = new Set((db.prepare('SELECT version FROM writes').all() as {version: number}[]).map((row) => row.version))
      expect(acknowledged.filter((version) => !kept.has(version))).to.deep.equal([])
    } finally {
      db.close()
    }
  }

  /** Starts replace-disk (or a resume), and SIGKILLs it as soon as the journal has `step` done. */
  async function killAfter(c: {env: NodeJS.ProcessEnv; journal: string}, args: string[], step: string): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'replace-disk', ...args], {env: {...process.env, ...c.env}, stdio: 'ignore'})
    await waitUntil(`step ${step} done (or the run ended)`, () => ({done: done(c), exit: child.exitCode}), (seen) => seen.done.includes(step) || seen.exit !== null)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
  }

  it('real lightningd: killed after every step, the node started again by someone else before each --resume; status names the open run each time; the end state is an uninterrupted run\'s', async function () {
    this.timeout(1_200_000)
    const c = await realSetup()
    const [failing] = c.pool.devices
    const [spare] = sandbox.devices(1, 256)
    const seenStopped: string[] = []
    let restarts = 0
    for (const [index, step] of REPLACE_STEPS_TO_KILL_AFTER.entries()) {
      if (done(c).includes(step)) continue
      await killAfter(c, index === 0 ? [failing, spare, '--allow-files', '--yes'] : ['--resume', '--yes'], step)

      const status = c.run(['status', '--json'])
      const findings = allFindings(status.json())
      const open = findings.find((finding) => finding.message.includes('unfinished `lnstore replace-disk` run'))
      expect(open, `after the kill at ${step}: ${status.stdout}`).to.not.equal(undefined)
      expect(open!.next).to.equal('lnstore replace-disk --resume')
      expect(open!.verdict).to.equal(c.cln.running() ? 'WARNING' : 'CRITICAL')
      if (!c.cln.running()) seenStopped.push(step)
      // The disk being replaced is never advised back online.
      expect(findings.map((finding) => finding.next ?? '')).to.not.include(`zpool online ${c.pool.name} ${failing}`)

      // As systemd after a reboot, or an operator by hand: the node runs (and writes) again before the resume.
      if (!c.cln.running()) {
        c.cln.start()
        restarts++
        await c.cln.acknowledgedMore(2)
      }
    }

    expect(seenStopped).to.include('stop')
    const resumed = c.run(['replace-disk', '--resume', '--yes', '--json'])
    expect(resumed.status, resumed.stderr).to.equal(0)
    const report = resumed.json()
    // What lnstore checked before it started the node is what the node had at its last stop. (Started
    // by hand after the last kill, the node may already run when the resume reaches its start: then
    // lnstore starts nothing and checked nothing there.)
    if (report.freshness.beforeStart) expect(report.freshness.beforeStart, JSON.stringify(report.freshness)).to.deep.equal(report.freshness.atStop)
    const status = sh('zpool', ['status', c.pool.name])
    expect(listsDevice(status, spare), status).to.equal(true)
    expect(listsDevice(status, failing), status).to.equal(false)
    expect(c.cln.running(), 'the node runs again').to.equal(true)
    expect(allFindings(c.run(['status', '--json']).json()).map((finding) => finding.message).join('\n')).to.not.contain('unfinished')
    expect(restarts).to.be.greaterThan(0)
    await expectRealWritesKept(c)
  })

  it('real lightningd: killed right after stopping the node, which is then started again by hand: --abort closes the journal and says what it did; a new run is accepted', async function () {
    this.timeout(600_000)
    const c = await realSetup()
    const [failing] = c.pool.devices
    const [spare] = sandbox.devices(1, 256)
    await killAfter(c, [failing, spare, '--allow-files', '--yes'], 'stop')
    expect(c.cln.running(), 'the run stopped the node').to.equal(false)
    c.cln.start()

    const refused = c.run(['replace-disk', failing, spare, '--allow-files', '--yes'])
    expect(refused.status).to.equal(2)
    expect(refused.errors).to.match(/an earlier `lnstore replace-disk` run is not finished: it stopped at "(Replace .*|Resilver .*)"/)

    const aborted = c.run(['replace-disk', '--abort'])
    expect(aborted.status, aborted.stderr).to.equal(0)
    expect(aborted.stdout).to.contain('Aborted: the run is closed.')
    expect(aborted.stdout).to.match(/put back: Start the node again \(when its data is verified\): (the node is running already \(started outside this run\): nothing to put back|node \S+ answers at block \d+)/)
    expect(JSON.parse(readFileSync(c.journal, 'utf8')).state).to.equal('aborted')
    expect(c.cln.running()).to.equal(true)

    const [other] = sandbox.devices(1, 256)
    const target = listsDevice(sh('zpool', ['status', c.pool.name]), failing) ? failing : spare
    const again = c.run(['replace-disk', target, other, '--allow-files', '--yes', '--json'])
    expect(again.status, again.stderr).to.equal(0)
    await expectRealWritesKept(c)
  })

  it('real lightningd: killed after the replace; the node started and stopped again by hand (it wrote meanwhile): preflight refuses while the run is open, --resume goes on', async function () {
    this.timeout(600_000)
    const c = await realSetup()
    const [failing] = c.pool.devices
    const [spare] = sandbox.devices(1, 256)
    await killAfter(c, [failing, spare, '--allow-files', '--yes'], 'replace')
    const gate = c.run(['preflight', '--json'])
    expect(gate.status).to.not.equal(0)
    expect(gate.json().findings.map((finding: Finding) => finding.message).join('\n')).to.contain('the node must not start while it is open')

    c.cln.start()
    await c.cln.acknowledgedMore(3)
    await c.cln.stop()

    const resumed = c.run(['replace-disk', '--resume', '--yes', '--json'])
    expect(resumed.status, resumed.stderr).to.equal(0)
    expect(resumed.json().freshness.beforeStart).to.deep.equal(resumed.json().freshness.atStop)
    expect(c.cln.running()).to.equal(true)
    const after = c.run(['preflight', '--json'])
    expect(after.json().findings.map((finding: Finding) => finding.message).join('\n')).to.not.contain('must not start while it is open')
    await expectRealWritesKept(c)
  })

  it('stand-in node: a run killed with the node stopped is a CRITICAL alert mail naming the run and the command that continues it (the monitor and the ZED hook run the same check)', async () => {
    const c = await setup()
    const server = new TestSmtpServer()
    const port = await server.start()
    try {
      const config = JSON.parse(readFileSync(c.env.LNSTORE_CONFIG!, 'utf8'))
      const env = {...c.env, LNSTORE_CONFIG: alertConfig(c.root, port, config)}
      // The first look sets the alert baseline (and may mail what it finds: the pool never scrubbed).
      await lnstoreAsync(['status'], {env})
      const before = server.messages.length
      const [failing] = c.pool.devices
      const [spare] = sandbox.devices(1, 256)
      await killAfter(c, [failing, spare, '--allow-files', '--yes'], 'stop')
      const checked = await lnstoreAsync(['status'], {env})
      expect(checked.stdout).to.contain('unfinished `lnstore replace-disk` run')
      const mails = (await server.waitFor(before + 1)).slice(before)
      const mail = mails.find((candidate) => candidate.text.includes('unfinished `lnstore replace-disk` run'))
      expect(mail, mails.map((candidate) => candidate.subject).join('\n')).to.not.equal(undefined)
      expect(mail!.subject).to.match(/^\[lnstore\] CRITICAL/)
      expect(mail!.text).to.contain('the node is STOPPED by it')
      expect(mail!.text).to.contain('lnstore replace-disk --resume')
    } finally {
      await server.stop()
    }

    const resumed = c.run(['replace-disk', '--resume', '--yes'])
    expect(resumed.status, resumed.stderr).to.equal(0)
    await expectEveryWriteKept(c)
  })

  it('stand-in node: two --resume at once: the second is refused naming the first\'s pid, status shows it running, and the first finishes', async () => {
    // The stand-in, because it can take 8 s to shut down: the first resume is still inside its stop when the second comes.
    const c = await setup({nodeArgs: ['--stop-delay-ms', '8000']})
    const [failing] = c.pool.devices
    const [spare] = sandbox.devices(1, 256)
    await killAfter(c, [failing, spare, '--allow-files', '--yes'], 'record')
    const first = lnstoreAsync(['replace-disk', '--resume', '--yes', '--json'], {env: c.env})
    const owner = join(c.root, 'state', 'runbooks', 'replace-disk.owner')
    // The killed run left its lock behind (its pid is dead): wait until the resume has taken it over.
    const liveOwner = () => {
      const pid = existsSync(owner) ? (JSON.parse(readFileSync(owner, 'utf8')) as {pid: number}).pid : 0
      return pid && spawnSync('kill', ['-0', String(pid)]).status === 0 ? pid : 0
    }

    const pid = await waitUntil('the first resume holds the run, inside the stop', () => ({pid: liveOwner(), stop: steps(c).find((step) => step.id === 'stop')?.status}), (seen) => seen.pid !== 0 && seen.stop === 'running').then((seen) => seen.pid)

    const second = c.run(['replace-disk', '--resume', '--yes'])
    expect(second.status).to.equal(1)
    expect(second.errors, second.errors).to.contain(`\`lnstore replace-disk\` is running now as pid ${pid}`)
    const status = allFindings(c.run(['status', '--json']).json()).find((finding) => finding.message.includes('is running now'))
    expect(status?.message).to.contain(`(pid ${pid})`)

    const ended = await first
    expect(ended.status, ended.stderr).to.equal(0)
    expect(existsSync(owner), 'the lock is released').to.equal(false)
    await expectEveryWriteKept(c)
  })

  it('stand-in node (the real one here has no channels, hence no HTLCs): refuses (exit 2) one expiring within the downtime plus 18 blocks, naming the channel; --ignore-htlcs goes ahead; a resumed stop weighs them again', async () => {
    const c = await setup({nodeArgs: ['--htlc-expiry-blocks', '5']})
    const [failing] = c.pool.devices
    const [spare] = sandbox.devices(1, 256)
    const refused = c.run(['replace-disk', failing, spare, '--allow-files', '--yes'])
    expect(refused.status).to.equal(2)
    expect(refused.errors).to.contain('the nearest, on channel 849000x1x0, expires at block 850005: 5 blocks left')
    expect(refused.errors).to.contain('--ignore-htlcs')
    expect(existsSync(c.journal)).to.equal(false)
    expect(nodeRunning(c)).to.equal(true)

    const planned = c.run(['replace-disk', failing, spare, '--allow-files', '--ignore-htlcs', '--dry-run'])
    expect(planned.status, planned.stderr).to.equal(0)
    expect(planned.stdout).to.contain('5 blocks left')
    expect(planned.stdout).to.contain('(going ahead: --ignore-htlcs)')

    // Killed once the node is down; it is started again with an HTLC about to expire: the stop done again refuses.
    signalNode(c.pidPath, 'SIGTERM')
    await waitUntil('the node has stopped', () => nodeRunning(c), (running) => !running)
    await c.startNode([])
    await killAfter(c, [failing, spare, '--allow-files', '--yes'], 'stop')
    await c.startNode(['--htlc-expiry-blocks', '3'])
    const blocked = c.run(['replace-disk', '--resume', '--yes'])
    expect(blocked.status).to.equal(1)
    expect(blocked.errors).to.contain('3 blocks left')
    expect(nodeRunning(c), 'the node was left running').to.equal(true)
    const forced = c.run(['replace-disk', '--resume', '--yes', '--ignore-htlcs', '--json'])
    expect(forced.status, forced.stderr).to.equal(0)
    await expectEveryWriteKept(c)
  })

  it('refuses a device path with a space (zpool status could not be read back), in replace-disk and init', async () => {
    const c = await setup({node: false})
    const spaced = join(c.root, 'new disk')
    sh('truncate', ['-s', '256M', spaced])
    const refused = c.run(['replace-disk', c.pool.devices[0], spaced, '--allow-files', '--yes'])
    expect(refused.status).to.equal(2)
    expect(refused.errors).to.contain('holds a space or control character: `zpool status` prints devices in space-separated columns')
    const [other] = sandbox.devices(1, 256)
    const init = c.run(['init', '--mirror', spaced, other, '--allow-files', '--data-dir', join(c.root, 'elsewhere'), '--user', 'root', '--dry-run'])
    expect(init.status).to.equal(2)
    expect(init.errors).to.contain('holds a space or control character')
  })

  /** Kills one device: the pool exported, its file removed, the pool imported again (the device then UNAVAIL). */
  function killDevice(c: Case, device: string): void {
    sh('zpool', ['export', c.pool.name])
    rmSync(device)
    sh('zpool', ['import', '-d', sandbox.dir, c.pool.name])
  }

  /** Runs every `next:` status prints that takes a new device, verbatim with a new device filled in (and --yes for the question a terminal would ask). */
  function runAdvice(c: Case): {command: string; status: number | null; output: string}[] {
    const advice = [...new Set(allFindings(c.run(['status', '--json']).json()).map((finding) => finding.next ?? '').filter((next) => next.includes('<new-device>')))]
    expect(advice, 'status advises a command with a new device').to.not.deep.equal([])
    for (const next of advice) expect(next).to.not.match(/Infinity|\(pool /)
    // The first such advice, run as printed: the pool then needs none.
    const [spare] = sandbox.devices(1, 256)
    const command = advice[0].replace('<new-device>', spare)
    const argv = command.startsWith('lnstore ') ? [process.execPath, BIN, ...command.slice('lnstore '.length).split(' '), '--yes'] : command.split(' ')
    const result = spawnSync(argv[0], argv.slice(1), {env: {...process.env, ...c.env, NO_COLOR: '1'}, encoding: 'utf8'})
    return [{command, status: result.status, output: result.stdout + result.stderr}, ...advice.slice(1).map((other) => ({command: other, status: null, output: 'not run (one fix at a time)'}))]
  }

  const layouts: {title: string; layout: string[]; disks: number}[] = [
    {title: 'a dead disk in a two-way mirror', layout: ['mirror'], disks: 2},
    {title: 'a dead disk in a three-way mirror', layout: ['mirror'], disks: 3},
    {title: 'a dead disk in raidz1', layout: ['raidz1'], disks: 3},
    {title: 'a dead disk in raidz2', layout: ['raidz2'], disks: 4},
  ]
  for (const {title, layout, disks} of layouts) {
    it(`advice for ${title}, run verbatim, is accepted and brings the pool back ONLINE`, async () => {
      const c = await setup({layout, disks, node: false, diskMb: 128})
      killDevice(c, c.pool.devices[1])
      const [ran] = runAdvice(c)
      // The dead disk is what to replace.
      expect(ran.command).to.match(/^lnstore replace-disk \d+ \S+ --allow-files$/)
      expect(ran.status, `${ran.command}\n${ran.output}`).to.equal(0)
      await waitUntil(`${c.pool.name} ONLINE`, () => sh('zpool', ['status', c.pool.name]), (status) => /state: ONLINE/.test(status))
    })
  }

  it('a dead disk in a two-way mirror: replacing the healthy one, the last copy, is refused with why (before anything is touched)', async () => {
    const c = await setup({node: false, diskMb: 128})
    killDevice(c, c.pool.devices[1])
    const [spare] = sandbox.devices(1, 128)
    const refused = c.run(['replace-disk', c.pool.devices[0], spare, '--allow-files', '--yes'])
    expect(refused.status).to.equal(2)
    expect(refused.errors).to.contain(`holds one of the last readable copies of mirror-0's data`)
    expect(refused.errors).to.match(/replace the missing member first: lnstore replace-disk \d+ /)
    expect(existsSync(c.journal)).to.equal(false)
  })

  it('advice for a failing (but present) disk of a two-way mirror needs no --i-understand, and is accepted as printed: the disk stays in the pool until ZFS detaches it after the resilver', async () => {
    const c = await setup({node: false, diskMb: 128, fillerMb: 40})
    // A first look records the counters: the errors the scrub then finds are a burst, the finding that advises a replace.
    c.run(['status'])
    sandbox.corrupt(c.pool, c.pool.devices[1])
    await sandbox.scrub(c.pool)
    const [ran] = runAdvice(c)
    const spare = ran.command.split(' ')[3]
    expect(ran.command).to.equal(`lnstore replace-disk ${c.pool.devices[1]} ${spare} --allow-files`)
    expect(ran.status, ran.output).to.equal(0)
    expect(ran.output).to.not.contain('zpool offline')
    await waitUntil(`${c.pool.name} ONLINE with ${spare} in place of ${c.pool.devices[1]}`, () => sh('zpool', ['status', c.pool.name]), (status) => /state: ONLINE/.test(status) && listsDevice(status, spare) && !listsDevice(status, c.pool.devices[1]))
  })

  it('advice for a single-disk pool is `zpool attach`, accepted as printed (replace-disk would have nothing to copy from)', async () => {
    const c = await setup({layout: [], disks: 1, node: false, diskMb: 128})
    const [ran] = runAdvice(c)
    expect(ran.command).to.match(new RegExp(`^zpool attach ${c.pool.name} ${c.pool.devices[0]} \\S+$`))
    expect(ran.status, ran.output).to.equal(0)
    await waitUntil(`${c.pool.name} a mirror`, () => sh('zpool', ['status', c.pool.name]), (status) => /mirror/.test(status))
    // And replace-disk on it says so, without "Infinity GiB".
    const [spare] = sandbox.devices(1, 128)
    const lonely = sandbox.createPool(`lnsrcone${count}x`, [], sandbox.devices(1, 128))
    const refused = c.run(['replace-disk', lonely.devices[0], spare, '--allow-files', '--yes'])
    expect(refused.status).to.equal(2)
    expect(refused.errors).to.contain(`add a mirror first: zpool attach ${lonely.name} ${lonely.devices[0]} <new-device>`)
    expect(refused.errors).to.not.contain('Infinity')
  })
})
