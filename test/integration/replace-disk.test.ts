import Database from 'better-sqlite3'
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseStatus} from '../../src/zfs/status-json.js'
import {walkVdevs} from '../../src/zfs/status-model.js'
import {BIN, lnstore, lnstoreAsync} from '../support/cli.js'
import {ClnNode, NETWORK, writeSummary} from '../support/cln.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {waitFor} from '../support/wait.js'
import {backend, ensureZfs, listsDevice, onlyOn, onlyOnVariant, printedName, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

const STANDIN = fileURLToPath(new URL('../../src/demo/standin-node.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
/** Enough data that zfs-fuse's resilver lasts a moment (200 MiB: about 0.7 s on an idle machine). */
const RESILVER_MB = 300

/**
 * `lnstore replace-disk` end to end on real mirrors (zfs-fuse on files, or OpenZFS on the VM's
 * disks), around the real lightningd (v26.06.6 on a fake regtest chain, test/support/cln.ts) with a
 * writer calling `newaddr` all the time. Each run that replaces a disk prints its figures
 * (acknowledged writes, lost writes, downtime, kills) and checks that no acknowledged write is lost.
 *
 * The kill after every step, with node kinds rpc and commands, is test/integration/real-node.test.ts.
 * The in-repo stand-in (src/demo/standin-node.ts) runs only in the two cases the real node cannot be
 * made to show here, each marked beside it: a node that ignores `stop`, and an HTLC in flight.
 */
describe(`lnstore replace-disk on real ZFS (${backend})`, function () {
  const sandbox = new ZfsSandbox()
  const nodes: ClnNode[] = []
  const standins: string[] = []
  let count = 0

  before(ensureZfs)

  // The nodes first (the real ones stop cleanly), then the pools they ran on.
  after(async () => {
    for (const node of nodes) await node.cleanup()
    for (const pidPath of standins) stopStandin(pidPath)
    sandbox.cleanup()
  })

  interface Scenario {
    pool: PoolHandle
    dataDir: string
    env: NodeJS.ProcessEnv
    spare: string
    /** The real node; null in the stand-in's cases. */
    node: ClnNode | null
    /** Its pid file: the node runs while it names a live process. */
    pidPath: string
    replace(...args: string[]): ReturnType<typeof lnstore>
    args: string[]
    root: string
    startCommand: string
  }

  /**
   * A two-way mirror holding the node's dataset with `fillerMb` of data to resilver (the tests that
   * kill lnstore during the resilver need it to last), and the real node on it, writing; or, given
   * `standin` options, the stand-in node (only for what the real node cannot show).
   */
  async function scenario(options: {fillerMb?: number; standin?: string[]} = {}): Promise<Scenario> {
    const {fillerMb = 60, standin} = options
    const id = count++
    const root = join(sandbox.dir, `case-${id}`)
    mkdirSync(root, {recursive: true})
    const diskMb = fillerMb > 100 ? 768 : 256
    const pool = sandbox.createPool(`lnsrep${id}x`, ['mirror'], sandbox.devices(2, diskMb))
    const dataDir = join(root, '.lightning')
    sh('zfs', ['create', '-o', `mountpoint=${dataDir}`, `${pool.name}/lightning`])
    // Enough data that the resilver takes a moment (far from filling the pool: zfs-fuse crashes on ENOSPC).
    sh('dd', ['if=/dev/urandom', `of=${join(dataDir, 'filler')}`, 'bs=1M', `count=${fillerMb}`, 'conv=fsync', 'status=none'])
    const env: NodeJS.ProcessEnv = {LNSTORE_STATE_DIR: join(root, 'state'), LNSTORE_CONFIG: join(root, 'config.yaml')}
    const [spare] = sandbox.devices(1, diskMb)
    const replace = (...extra: string[]) => lnstore(['replace-disk', ...extra], {env})
    if (standin) {
      const pidPath = join(dataDir, 'lightningd-bitcoin.pid')
      standins.push(pidPath)
      const start = `nohup ${process.execPath} --import ${TSX} ${STANDIN} --data-dir ${dataDir} --ack-log ${join(root, 'acks.log')} ${standin.join(' ')} >>${join(root, 'node.log')} 2>&1 </dev/null &`
      sh('sh', ['-c', start])
      await waitFor('the stand-in node to write its pid file and open its RPC socket', () => existsSync(pidPath) && existsSync(join(dataDir, 'bitcoin', 'lightning-rpc')))
      const args = ['--allow-files', '--yes', '--data-dir', dataDir, '--node-kind', 'rpc', '--node-start-command', start, '--stop-timeout', '5']
      return {pool, dataDir, env, spare, node: null, pidPath, args, root, startCommand: start, replace}
    }

    const node = await ClnNode.create(dataDir, join(root, 'off-pool'))
    nodes.push(node)
    node.start()
    node.startWriter()
    await node.acknowledgedMore(10)
    // The start gate asks the node's own hsmtool which node hsm_secret belongs to.
    env.LNSTORE_HSMTOOL = node.programs.hsmtool
    const args = ['--allow-files', '--yes', '--data-dir', dataDir, '--network', NETWORK, '--node-kind', 'rpc', '--node-start-command', node.startCommand, '--stop-timeout', '60']
    return {pool, dataDir, env, spare, node, pidPath: node.pidFile, args, root, startCommand: node.startCommand, replace}
  }

  function stopStandin(pidPath: string): void {
    const pid = existsSync(pidPath) ? Number(readFileSync(pidPath, 'utf8')) : 0
    if (pid) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {}
    }
  }

  /** Whether the scenario's node runs (its pid file names a live lightningd). */
  const nodeRuns = (s: Scenario) => s.node!.running()

  /**
   * The node back and writing: more acknowledged writes, then every one it ever acknowledged still
   * in its wallet, data_version never below one seen after an acknowledged write, quick_check ok.
   * Prints the run's figures.
   */
  async function expectEveryWriteKept(s: Scenario, title: string, report: {downtimeSeconds?: number}, killedAfter: string[] = []): Promise<void> {
    const node = s.node!
    await node.acknowledgedMore(5)
    await node.stopWriter()
    const check = await node.checkWrites()
    writeSummary(title, check, {downtimeSeconds: report.downtimeSeconds, killedAfter})
    expect(check.acknowledged).to.be.greaterThan(10)
    expect(check.lost).to.deep.equal([])
    expect(check.dataVersion).to.be.at.least(check.highestAcknowledgedDataVersion)
    const db = new Database(node.database, {readonly: true, timeout: 10_000})
    try {
      expect(db.pragma('quick_check', {simple: true})).to.equal('ok')
    } finally {
      db.close()
    }
  }

  const members = (pool: string) => sh('zpool', ['status', pool])
  /** The pool lists the new device and no longer the failing one. */
  const expectReplaced = (pool: string, failing: string, replacement: string) => {
    const status = members(pool)
    expect(listsDevice(status, replacement), status).to.equal(true)
    expect(listsDevice(status, failing), status).to.equal(false)
  }

  /** `device` as `zpool status` text lists it: its state, and whether it sits in a `replacing` vdev; null when it is not listed. */
  const memberIn = (status: string, device: string) => {
    for (const parent of walkVdevs(parseStatus(status).pools[0]?.vdevs ?? [])) {
      const child = parent.children.find((candidate) => [candidate.name, candidate.path].includes(printedName(device)))
      if (child) return {state: child.state, replacing: parent.name.startsWith('replacing')}
    }

    return null
  }

  /**
   * While the new device resilvers, the failing one is still in the pool and ONLINE (its copy
   * readable) beside it, both in a `replacing` vdev: seen at least once, and never taken out.
   * `looks` are `zpool status` texts taken while the replace and the resilver ran (zfs-fuse's
   * `zpool replace` returns only once the resilver is over; OpenZFS's returns at once).
   */
  const expectFailingBesideNew = (looks: string[], failing: string, replacement: string) => {
    for (const status of looks) expect(memberIn(status, failing)?.state ?? 'not listed', `the failing device while it is listed:\n${status}`).to.be.oneOf(['ONLINE', 'not listed'])
    const beside = looks.filter((status) => memberIn(status, failing)?.replacing && memberIn(status, replacement)?.replacing)
    expect(beside.length, `no look showed ${failing} beside ${replacement} in a replacing vdev:\n${looks.join('\n---\n')}`).to.be.greaterThan(0)
    const resilvering = beside.filter((status) => parseStatus(status).pools[0].scan.state === 'in_progress').length
    console.log(`      ${beside.length} of ${looks.length} looks during the replace showed the failing device ONLINE beside the new one in a replacing vdev (${resilvering} with the resilver in progress)`)
  }

  it('replaces a disk around a node that writes all the time: node back, data unchanged, every acknowledged write kept', async () => {
    const s = await scenario()
    const failing = s.pool.devices[0]
    const result = s.replace(failing, s.spare, ...s.args, '--json')
    expect(result.status, result.stderr).to.equal(0)
    const report = result.json()
    // The failing device as the pool names it; the new one as given.
    expect(report).to.deep.include({action: 'replaced', pool: s.pool.name, failing: printedName(failing), newDevice: s.spare, restart: 'after-resilver'})
    expect(report.freshness.atStop.dataVersion).to.be.at.least(report.freshness.beforeStop.dataVersion)
    expect(report.freshness.beforeStart).to.deep.equal(report.freshness.atStop)
    expect(report.downtimeSeconds).to.be.greaterThan(0)
    // The real smartctl looks at the new device first; a file (or a virtio disk in the VM) has no SMART: skipped, with the reason.
    expect(report.plan[0].id).to.equal('self-test')
    expect(report.selfTest.result).to.equal('skipped')
    expect(report.selfTest.detail).to.match(/Unable to detect device type|smartctl is not installed|no self-test/)
    // zfs-fuse has no `zpool labelclear`: then the report says to wipe the old disk.
    // A whole disk keeps its labels in its first partition (OpenZFS 2.3 clears them only there): named as the operator named the disk.
    expect([failing, `${failing}-part1`]).to.include(report.oldDevice.path)
    if (!report.oldDevice.labelsCleared) expect(report.oldDevice.warning).to.contain('never import it or start a node on it')
    expectReplaced(s.pool.name, failing, s.spare)
    expect(members(s.pool.name)).to.match(/state: ONLINE/)
    expect(nodeRuns(s), 'the node runs again').to.equal(true)
    await expectEveryWriteKept(s, 'replace-disk around the writing node', report)
  })

  it('--restart=after-replace: the node is back before the resilver is followed to its end', async function () {
    onlyOn('zfs-fuse', this, 'the same ZFS steps as the case above, in another order; the VM keeps to the cases that differ on ZFS')
    const s = await scenario()
    const failing = s.pool.devices[0]
    const result = s.replace(failing, s.spare, ...s.args, '--restart', 'after-replace', '--json')
    expect(result.status, result.stderr).to.equal(0)
    const report = result.json()
    expect(report.restart).to.equal('after-replace')
    expect(report.plan.map((step: {id: string}) => step.id)).to.deep.equal(['self-test', 'record', 'stop', 'replace', 'verify-data', 'start', 'resilver', 'verify-pool', 'clear', 'report'])
    expect(report.freshness.beforeStart).to.deep.equal(report.freshness.atStop)
    expectReplaced(s.pool.name, failing, s.spare)
    await expectEveryWriteKept(s, 'replace-disk --restart=after-replace', report)
  })

  // The stand-in node: an HTLC in flight needs a peer and a channel, which the real node on the fake chain cannot have.
  it('--dry-run prints every command and warns about an HTLC expiring within twice the downtime and margin, touching nothing', async function () {
    onlyOn('zfs-fuse', this, 'prints a plan, runs no ZFS command')
    const s = await scenario({standin: ['--htlc-expiry-blocks', '30']})
    const failing = s.pool.devices[0]
    const before = members(s.pool.name)
    const result = s.replace(failing, s.spare, ...s.args, '--dry-run')
    expect(result.status, result.stderr).to.equal(0)
    expect(result.stdout).to.contain('lnstore replace-disk would (dry run, nothing is changed):')
    // The failing disk stays attached: no offline, and the plan says so (a two-way mirror keeps its two copies; no --i-understand).
    expect(result.stdout).to.not.contain('zpool offline')
    expect(result.stdout).to.contain(`$ zpool replace ${s.pool.name} ${failing} ${s.spare}`)
    expect(result.stdout).to.contain(`${printedName(failing)} stays in the pool while the new disk resilvers (its copy stays readable) and is detached by ZFS when the resilver ends`)
    expect(result.stdout).to.contain(`$ lightning-cli --lightning-dir=${s.dataDir} --network=bitcoin stop`)
    expect(result.stdout).to.contain('WARNING: 1 HTLC in flight; the nearest, on channel 849000x1x0, expires at block 850030: 30 blocks left (block height 850000), within twice 19 blocks')
    expect(members(s.pool.name)).to.equal(before)
    expect(existsSync(join(s.env.LNSTORE_STATE_DIR!, 'runbooks'))).to.equal(false)
  })

  it('takes the node settings and data directory from the config, and mails the report when alerts are configured', async function () {
    onlyOn('zfs-fuse', this, 'config and mail paths, the same ZFS steps as the first case')
    const s = await scenario()
    const failing = s.pool.devices[0]
    const server = new TestSmtpServer()
    const port = await server.start()
    let report: {downtimeSeconds?: number} = {}
    try {
      const config = alertConfig(s.root, port, {dataDir: s.dataDir, node: {kind: 'rpc', network: NETWORK, startCommand: s.startCommand, stopTimeoutSeconds: 60}})
      // Scripts written for the offline-first plan pass --i-understand: still accepted, and changes nothing.
      const result = await lnstoreAsync(['replace-disk', failing, s.spare, '--allow-files', '--i-understand', '--yes', '--json'], {env: {...s.env, LNSTORE_CONFIG: config}})
      expect(result.status, result.stderr).to.equal(0)
      report = result.json()
      const [mail] = await server.waitFor(1)
      expect(mail.subject).to.match(new RegExp(`^\\[lnstore\\] OK: ${failing} replaced by ${s.spare} in ${s.pool.name} on \\S+$`))
      expect(mail.text).to.match(/the node was down for .+, and the node's database holds what it last wrote \(data_version \d+, quick_check ok\)/)
    } finally {
      await server.stop()
    }

    await expectEveryWriteKept(s, 'replace-disk with the node settings from the config', report)
  })

  it('--same-slot: refused for a side of a two-way mirror without --i-understand (pulling it leaves no other copy); with it, pauses after the offline until the new device appears, then replaces', async function () {
    onlyOn('zfs-fuse', this, 'the runbook\'s pause; a disk appearing in the VM needs the host-side QEMU monitor (not built)')
    const s = await scenario()
    const failing = s.pool.devices[0]
    const later = join(s.root, 'inserted-disk')
    const refused = s.replace(failing, later, ...s.args, '--same-slot')
    expect(refused.status, refused.stderr).to.equal(2)
    expect(refused.errors).to.contain(`mirror-0: has no redundant copy left while ${printedName(failing)} is out of its slot (--same-slot)`)
    expect(refused.errors).to.contain('run it without --same-slot')
    expect(existsSync(join(s.env.LNSTORE_STATE_DIR!, 'runbooks', 'replace-disk.json'))).to.equal(false)

    const running = lnstoreAsync(['replace-disk', failing, later, ...s.args, '--same-slot', '--i-understand', '--json'], {env: s.env})
    let ended = false
    void running.then(() => (ended = true))
    const journal = join(s.env.LNSTORE_STATE_DIR!, 'runbooks', 'replace-disk.json')
    const swapping = () => existsSync(journal) && JSON.parse(readFileSync(journal, 'utf8')).steps.some((step: {id: string; status: string}) => step.id === 'swap' && step.status === 'running')
    await waitFor('replace-disk to pause for the swap (or end)', () => ended || swapping())
    expect(ended, (await Promise.race([running, Promise.resolve(null)]))?.stderr).to.equal(false)
    expect(members(s.pool.name)).to.match(new RegExp(`${printedName(failing)}\\s+OFFLINE`))
    // The disk put in the slot: a file as large as the failing device (the sandbox's files, or a whole VM disk).
    const size = backend === 'kernel' ? sh('blockdev', ['--getsize64', failing]).trim() : '256M'
    sh('truncate', ['-s', size, later])

    const result = await running
    expect(result.status, result.stderr).to.equal(0)
    expect(result.json().plan.map((step: {id: string}) => step.id)).to.include.members(['offline', 'swap'])
    expectReplaced(s.pool.name, failing, later)
    await expectEveryWriteKept(s, 'replace-disk --same-slot', result.json())
  })

  /**
   * Starts replace-disk and SIGKILLs it while the journal says `step` is running: a crash or power
   * cut mid-step. A zfs-fuse resilver can be over between two looks at the journal, so for it the
   * kill may also land just after the replace step, while ZFS resilvers. Returns the looks at
   * `zpool status` taken from the start of the replace step until the kill.
   */
  async function killDuring(s: Scenario, args: string[], step: string): Promise<string[]> {
    const child = spawn(process.execPath, [BIN, 'replace-disk', ...args], {env: {...process.env, ...s.env}, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    const journal = join(s.env.LNSTORE_STATE_DIR!, 'runbooks', 'replace-disk.json')
    const reached = (entry: {id: string; status: string}) => (entry.id === step && entry.status === 'running') || (step === 'resilver' && entry.id === 'replace' && entry.status === 'done')
    const replacing = (entry: {id: string; status: string}) => entry.id === 'replace' && entry.status !== 'pending'
    let text = ''
    const looks: string[] = []
    await waitFor(`replace-disk's journal to reach step ${step}`, () => {
      text = existsSync(journal) ? readFileSync(journal, 'utf8') : ''
      if (child.exitCode !== null) throw new Error(`replace-disk ended (exit ${child.exitCode}) before step ${step} ran: ${stderr.replaceAll(/\s+/g, ' ')}`)
      const steps = text === '' ? [] : (JSON.parse(text).steps as {id: string; status: string}[])
      if (steps.some(replacing)) looks.push(members(s.pool.name))
      return steps.some(reached)
    }, {pollMs: 20, seen: () => text || 'no journal'})

    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    return looks
  }

  for (const step of ['stop', 'resilver']) {
    it(`killed during "${step}": a new run is refused, and --resume ends where an uninterrupted run does`, async function () {
      if (step === 'stop') onlyOn('zfs-fuse', this, 'killed before any ZFS step; the resilver case runs in the VM')
      else onlyOnVariant('openzfs-2.1', this, 'on 2.3 the kill after every step (real-node.test.ts) resumes after the resilver, and --abort follows this kill')
      // lightningd takes a moment to shut down (about 1.5 s): the kill lands inside the stop.
      const s = await scenario({fillerMb: step === 'resilver' ? RESILVER_MB : undefined})
      const failing = s.pool.devices[0]
      const looks = await killDuring(s, [failing, s.spare, ...s.args], step)
      if (step === 'resilver') expectFailingBesideNew(looks, failing, s.spare)

      const blocked = s.replace(failing, s.spare, ...s.args)
      expect(blocked.status).to.equal(2)
      expect(blocked.errors).to.contain('an earlier `lnstore replace-disk` run is not finished')

      const resumed = s.replace('--resume', '--yes', '--json')
      expect(resumed.status, resumed.stderr).to.equal(0)
      const report = resumed.json()
      expect(report.action).to.equal('resumed')
      expect(report.freshness.beforeStart).to.deep.equal(report.freshness.atStop)
      expect(report.downtimeSeconds).to.be.greaterThan(0)
      expectReplaced(s.pool.name, failing, s.spare)
      expect(nodeRuns(s), 'the node runs again').to.equal(true)
      await expectEveryWriteKept(s, `replace-disk killed during ${step}, then --resume`, report, [step])
    })
  }

  it('killed during the resilver, then --abort: the failing device was never taken out (ONLINE until ZFS detaches it), the node started on verified data, the pool state said', async function () {
    onlyOnVariant('openzfs-2.3', this, 'on 2.1 the same kill is followed by --resume')
    const s = await scenario({fillerMb: RESILVER_MB})
    const failing = s.pool.devices[0]
    expectFailingBesideNew(await killDuring(s, [failing, s.spare, ...s.args], 'resilver'), failing, s.spare)
    expect(nodeRuns(s)).to.equal(false)

    const aborted = s.replace('--abort', '--json')
    expect(aborted.status, aborted.stderr).to.equal(0)
    expect(aborted.json().action).to.equal('aborted')
    expect(aborted.json().poolState).to.match(new RegExp(`^pool ${s.pool.name} is (ONLINE|DEGRADED)`))
    // ZFS goes on resilvering after the kill (a replace that began is left to ZFS): when it finished first, the failing device is detached already.
    const status = members(s.pool.name)
    if (listsDevice(status, failing)) expect(status).to.match(new RegExp(`${printedName(failing)}\\s+ONLINE`))
    expect(nodeRuns(s), 'the node runs again').to.equal(true)
    await expectEveryWriteKept(s, 'replace-disk killed during the resilver, then --abort', aborted.json(), ['resilver'])
  })

  // The stand-in node: the real lightningd always honours `stop` (it exits within about 1.5 s).
  it('a node that ignores stop: refuses after the timeout with no disk touched, and --abort leaves it running', async function () {
    onlyOn('zfs-fuse', this, 'no ZFS command runs before the refusal')
    const s = await scenario({standin: ['--ignore-stop']})
    const failing = s.pool.devices[0]
    const before = members(s.pool.name)
    const result = s.replace(failing, s.spare, ...s.args.map((arg) => (arg === '5' ? '1' : arg)))
    expect(result.status).to.equal(1)
    expect(result.errors).to.contain('the node is still running 1 s after it was asked to stop; no disk was touched')
    expect(result.errors).to.contain('lnstore replace-disk --abort')
    expect(members(s.pool.name)).to.equal(before)

    const aborted = s.replace('--abort', '--json')
    expect(aborted.status, aborted.stderr).to.equal(0)
    expect(aborted.json()).to.deep.include({action: 'aborted', poolState: `pool ${s.pool.name} is ONLINE: zpool status ${s.pool.name}`})
    expect(existsSync(s.pidPath)).to.equal(true)
  })

  it('refuses a new device smaller than the failing one, touching nothing', async function () {
    onlyOn('zfs-fuse', this, 'the VM\'s disks are all the same size')
    const s = await scenario()
    const [small] = sandbox.devices(1, 128)
    const result = s.replace(s.pool.devices[0], small, ...s.args)
    expect(result.status).to.equal(2)
    expect(result.errors).to.contain(`${small}: is smaller (0.13 GiB) than the device it replaces (0.25 GiB)`)
    expect(existsSync(join(s.env.LNSTORE_STATE_DIR!, 'runbooks', 'replace-disk.json'))).to.equal(false)
  })

  it('refuses an unknown device, a device in no redundant vdev, and a new device that is in a pool, touching nothing', async function () {
    onlyOn('zfs-fuse', this, 'device checks before any ZFS step')
    const s = await scenario()
    const unknown = s.replace(join(s.root, 'no-such-disk'), s.spare, ...s.args)
    expect(unknown.status).to.equal(2)
    expect(unknown.errors).to.contain('is not a device of any imported pool')
    const other = sandbox.createPool(`lnsone${count}x`, [], sandbox.devices(1, 256))
    const lonely = s.replace(other.devices[0], s.spare, ...s.args)
    expect(lonely.status).to.equal(2)
    expect(lonely.errors).to.contain(`is not in a redundant vdev of ${other.name}: its data exists nowhere else`)
    const inUse = s.replace(s.pool.devices[0], other.devices[0], ...s.args)
    expect(inUse.status).to.equal(2)
    expect(inUse.errors).to.contain(`${other.devices[0]}: is part of the imported pool "${other.name}"`)
    expect(existsSync(join(s.env.LNSTORE_STATE_DIR!, 'runbooks', 'replace-disk.json'))).to.equal(false)
    expect(members(s.pool.name)).to.contain(s.pool.devices[0])
  })

  it('a node that does not come back after the replace: a clear failure, and --resume finishes once it answers', async function () {
    onlyOn('zfs-fuse', this, 'the node adapter; the same ZFS steps as the first case')
    const s = await scenario()
    const failing = s.pool.devices[0]
    writeFileSync(s.env.LNSTORE_CONFIG!, JSON.stringify({node: {startTimeoutSeconds: 2}}))
    // A start command that starts nothing: the node stays down.
    const args = s.args.map((arg) => (arg === s.startCommand ? 'true' : arg))
    const failed = s.replace(failing, s.spare, ...args)
    expect(failed.status).to.equal(1)
    expect(failed.errors).to.contain('did not answer getinfo')
    expect(failed.errors).to.contain('lnstore replace-disk --resume')
    expect(members(s.pool.name)).to.contain(s.spare).and.not.contain(failing)

    // Started by hand (lightningd --daemon returns once start-up is done), then resumed once it answers.
    s.node!.start()
    await s.node!.getinfo()
    const resumed = s.replace('--resume', '--yes', '--json')
    expect(resumed.status, resumed.stderr).to.equal(0)
    const report = resumed.json()
    // lnstore did not start this node: when it stopped it again to check the data, the check before the start is its own.
    if (report.freshness.beforeStart) expect(report.freshness.beforeStart, JSON.stringify(report.freshness)).to.deep.equal(report.freshness.atStop)
    await expectEveryWriteKept(s, 'replace-disk, the node started by hand after a failed start, then --resume', report)
  })

  it('refuses to start the node when the database went backwards while it was stopped', async function () {
    onlyOn('zfs-fuse', this, 'the refusal is lnstore\'s data_version check, the same on any ZFS; the kill during the resilver runs in the two cases above, the gate\'s refusals on real OpenZFS in journey 9')
    const s = await scenario({fillerMb: RESILVER_MB})
    const failing = s.pool.devices[0]
    await killDuring(s, [failing, s.spare, ...s.args], 'resilver')
    // An older copy of the database put in place while the node is down.
    const db = new Database(s.node!.database)
    db.prepare("UPDATE vars SET intval = intval - 5 WHERE name = 'data_version'").run()
    db.close()

    const resumed = s.replace('--resume', '--yes')
    expect(resumed.status).to.equal(1)
    expect(resumed.errors).to.match(/went backwards: data_version \d+, but \d+ when the node stopped/)
    expect(resumed.errors).to.contain('The node stays stopped')
    expect(nodeRuns(s), 'the node must not start').to.equal(false)
  })
})
