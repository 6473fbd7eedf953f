import {expect} from 'chai'
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {lnstoreAsync} from '../support/cli.js'
import {ChironSandbox, requireChironfs, sh} from '../support/chironfs-sandbox.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {waitFor} from '../support/wait.js'

const STANDIN = fileURLToPath(new URL('../../src/demo/standin-node.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
/** A replica database's data_version, read as another process would (waiting while the writer holds its lock). */
const dataVersion = (database: string) => Number(sh('sqlite3', ['-cmd', '.timeout 5000', database, "SELECT intval FROM vars WHERE name = 'data_version'"]).trim())

interface ReplicaJson {
  path: string
  verdict: string
  findings: {verdict: string; message: string; next?: string}[]
  dataVersion: number | null
  enabled: boolean | null
  probe: {reachable: boolean; timedOut: boolean; error?: string}
}

/** What the kernel says a process is doing (state, what it waits in), for a wait that failed on it. */
const processState = (pid: number | undefined) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return `state ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]}, waiting in ${readFileSync(`/proc/${pid}/wchan`, 'utf8') || 'nothing'}`
  } catch {
    return 'no such process'
  }
}

const replicaOf = (json: any, path: string): ReplicaJson => json.chironfs.replicas.find((replica: ReplicaJson) => replica.path === path)
const messages = (json: any): string[] => json.pools[0].findings.map((finding: {message: string}) => finding.message)

/** `lnstore status` in mode chironfs on real replica directories and real SQLite databases; with the real chironfs where installed. */
describe('lnstore status in mode chironfs (replica directories, real SQLite)', function () {
  const sandbox = new ChironSandbox()
  let count = 0
  const status = (config: string, ...args: string[]) => lnstoreAsync(['status', '--config', config, '--no-alert', ...args])

  function setup(options: {ownFilesystems?: boolean; versions?: number[]} = {}) {
    const id = count++
    const versions = options.versions ?? [7, 7]
    const replicas = versions.map((version, index) => {
      const path = sandbox.replica(`case${id}-r${index + 1}`, {ownFilesystem: options.ownFilesystems ?? true})
      sandbox.database(path, version)
      writeFileSync(join(path, 'config'), 'network=bitcoin\n')
      return path
    })
    const dataDir = join(sandbox.dir, `case${id}-data`)
    mkdirSync(dataDir)
    return {replicas, dataDir, config: sandbox.config(`case${id}`, dataDir, [replicas[0], `:${replicas[1]}`, ...replicas.slice(2)])}
  }

  after(() => sandbox.cleanup())

  it('replicas that agree, each on its own filesystem: every replica OK; CRITICAL because ChironFS is not mounted (exit 2)', async () => {
    const {config, replicas} = setup()
    const run = await status(config, '--json')
    expect(run.status, run.stderr).to.equal(2)
    const json = run.json()
    expect(json.verdict).to.equal('CRITICAL')
    expect(json.chironfs.mounted).to.equal(false)
    expect(messages(json).some((message) => /ChironFS is not mounted at the node's data directory/.test(message))).to.equal(true)
    expect(messages(json).some((message) => /same filesystem/.test(message))).to.equal(false)
    expect(json.chironfs.differences).to.deep.equal([])
    for (const path of replicas) expect(replicaOf(json, path)).to.deep.include({verdict: 'OK', dataVersion: 7})
  })

  it('preflight refuses to start the node while ChironFS is not mounted at its data directory (exit 2)', async () => {
    const {config, dataDir} = setup()
    const run = await lnstoreAsync(['preflight', '--config', config])
    expect(run.status, run.stderr).to.equal(2)
    expect(run.stdout).to.contain('DO NOT START')
    expect(run.stdout).to.contain(`ChironFS is not mounted at the node's data directory ${dataDir}`)
  })

  it('replicas on the same filesystem: WARNING that the second copy protects nothing', async () => {
    const {config, replicas} = setup({ownFilesystems: false})
    const run = await status(config)
    expect(run.stdout).to.contain(`WARNING  replicas ${replicas[0]} and ${replicas[1]} are on the same filesystem: one disk failure loses both, so the second copy protects nothing`)
  })

  it('a replica whose database is behind: CRITICAL on it, with lnstore heal next; the one ahead is authoritative, even the slow one', async () => {
    const {config, replicas} = setup({versions: [5, 9]})
    const run = await status(config, '--json')
    const json = run.json()
    expect(run.status).to.equal(2)
    const behind = replicaOf(json, replicas[0])
    expect(behind.verdict).to.equal('CRITICAL')
    expect(behind.findings.map((finding) => finding.message)).to.include('its node database is behind: data_version 5, the newest replica has 9; it is not a backup any more')
    expect(behind.findings[0].next).to.match(/^lnstore heal/)
    expect(replicaOf(json, replicas[1]).verdict).to.equal('OK')
    expect(json.chironfs.authority).to.deep.include({authoritative: replicas[1], problem: null})
    expect(json.pools[0].vdevs.map((vdev: {state: string}) => vdev.state)).to.deep.equal(['STALE', 'ONLINE'])
  })

  it('equal data_version but different content: CRITICAL, and lnstore refuses to guess which is right', async () => {
    const {config, replicas} = setup({versions: [8, 8]})
    // Same data_version, one more channel row: the file keeps its size; a copy made at another time has another mtime.
    sandbox.database(replicas[1], 8, 51)
    utimesSync(join(replicas[1], 'bitcoin', 'lightningd.sqlite3'), new Date(), new Date(Date.now() - 3_600_000))
    const run = await status(config, '--json')
    const json = run.json()
    expect(json.chironfs.authority.authoritative).to.equal(null)
    expect(messages(json).find((message) => /will not guess/.test(message))).to.match(/have the same data_version \(8\) but different content \(bitcoin\/lightningd\.sqlite3 has/)
    expect(json.chironfs.looks).to.be.greaterThan(1)
  })

  it('a file only in one replica: CRITICAL on the other', async () => {
    const {config, replicas} = setup()
    writeFileSync(join(replicas[0], 'emergency.recover'), 'x'.repeat(100))
    const json = (await status(config, '--json')).json()
    expect(replicaOf(json, replicas[1]).findings.map((finding) => finding.message)).to.include('differs from the other replicas in 1 place: emergency.recover exists only in ' + replicas[0])
  })

  it('a data_version lag that closes within the settle window is not divergence (a node writing through ChironFS)', async () => {
    const {config, replicas} = setup({versions: [1, 1]})
    // Writes each transaction to the first replica, then 30 ms later to the second, as ChironFS does one replica after the other.
    const writer = spawn(process.execPath, ['--import', TSX, '-e', MIRROR_WRITER, '--', ...replicas.map((path) => join(path, 'bitcoin', 'lightningd.sqlite3'))], {stdio: 'ignore'})
    try {
      // Both replicas past the set-up's data_version: the writer is mirroring transactions.
      await waitFor('the writer to commit into both replicas', () => replicas.every((path) => dataVersion(join(path, 'bitcoin', 'lightningd.sqlite3')) > 1))
      const json = (await status(config, '--json')).json()
      for (const path of replicas) expect(replicaOf(json, path).verdict, JSON.stringify(replicaOf(json, path).findings)).to.equal('OK')
    } finally {
      writer.kill()
    }
  })

  it('a replica directory deleted: CRITICAL, does not answer, and says so at once', async () => {
    const {config, replicas} = setup({ownFilesystems: false})
    rmSync(replicas[1], {recursive: true})
    const run = await status(config, '--json')
    const gone = replicaOf(run.json(), replicas[1])
    expect(gone.verdict).to.equal('CRITICAL')
    expect(gone.probe).to.deep.include({reachable: false, timedOut: false})
    expect(gone.findings[0].message).to.match(/^does not answer: cannot statx '.*': No such file or directory/)
    expect(run.json().pools[0].vdevs[1].state).to.equal('UNREACHABLE')
  })

  describe('with the real chironfs', function () {
    const smtp = new TestSmtpServer()
    let port = 0
    const nodes: ChildProcess[] = []

    before(async function () {
      requireChironfs()

      port = await smtp.start()
    })

    after(async () => {
      for (const node of nodes) node.kill('SIGTERM')
      await waitFor('the stand-in nodes to exit', () => nodes.every((node) => node.exitCode !== null || node.signalCode !== null))
      await smtp.stop()
    })

    /** Two replicas on their own filesystems mounted by ChironFS at the data directory, a stand-in node writing through it. */
    async function mountedNode(name: string) {
      const r1 = sandbox.replica(`${name}-r1`, {ownFilesystem: true})
      const r2 = sandbox.replica(`${name}-r2`, {ownFilesystem: true})
      const dataDir = join(sandbox.dir, `${name}-data`)
      const configPath = sandbox.config(name, dataDir, [r1, `:${r2}`])
      const settings = JSON.parse(readFileSync(configPath, 'utf8'))
      // Mail alerts too: the same config with the SMTP settings.
      const config = alertConfig(join(sandbox.dir), port, settings)
      const configWithName = join(sandbox.dir, `${name}-alerts.json`)
      writeFileSync(configWithName, readFileSync(config))
      sandbox.mount(dataDir, [r1, `:${r2}`], settings.chironfs.controlSocket, settings.chironfs.log)
      // ChironFS cannot hold a socket (mknod: ENOSYS): the node's rpc-file lives outside the mount, as README says.
      const nodeLog = openSync(join(sandbox.dir, `${name}-node.log`), 'a')
      const node = spawn(process.execPath, ['--import', TSX, STANDIN, '--data-dir', dataDir, '--ack-log', join(sandbox.dir, `${name}-acks.log`), '--interval-ms', '50', '--rpc-file', join(sandbox.dir, `${name}-rpc`)], {stdio: ['ignore', nodeLog, nodeLog]})
      closeSync(nodeLog)
      nodes.push(node)
      await waitFor('the stand-in node to start on the ChironFS mount', () => {
        if (node.exitCode !== null) throw new Error(`the stand-in node exited on the ChironFS mount (exit code ${node.exitCode})`)
        return existsSync(join(dataDir, 'lightningd-bitcoin.pid'))
      })
      return {r1, r2, dataDir, config: configWithName, node}
    }

    it('mounted, the node writing all the time: both replicas enabled, no divergence reported', async () => {
      const {config, r1, r2} = await mountedNode('live')
      const run = await lnstoreAsync(['status', '--config', config, '--json'])
      const json = run.json()
      expect(json.chironfs.mounted).to.equal(true)
      for (const path of [r1, r2]) expect(replicaOf(json, path), JSON.stringify(replicaOf(json, path).findings)).to.deep.include({verdict: 'OK', enabled: true})
      // Fresh: no full comparison yet, a WARNING (exit 1), as a pool never scrubbed.
      expect(json.verdict).to.equal('WARNING')
      expect(run.status).to.equal(1)
    })

    it('preflight: the node may start on the mount; not on an older database, nor with a replica disabled (unless allowDegradedStart)', async () => {
      const {config, dataDir, r2, node} = await mountedNode('gate')
      await lnstoreAsync(['status', '--config', config, '--no-alert'])
      node.kill('SIGTERM')
      // Seen once under load (issue 21): the pid file stayed for 90 s, cause unknown. Whether the node died
      // before the signal (an I/O error through ChironFS) or is blocked in a write (its state and wait channel)
      // is said at once instead of guessed afterwards.
      const nodeOutput = () => readFileSync(join(sandbox.dir, 'gate-node.log'), 'utf8').slice(-2000)
      await waitFor('the stand-in node to remove its pid file', () => {
        const gone = !existsSync(join(dataDir, 'lightningd-bitcoin.pid'))
        if (!gone && (node.exitCode !== null || node.signalCode !== null)) throw new Error(`the stand-in node exited (code ${node.exitCode}, signal ${node.signalCode}) and left its pid file; its output: ${nodeOutput()}`)
        return gone
      }, {seen: () => `pid file there; node ${processState(node.pid)}; its output: ${nodeOutput()}`})
      const fresh = await lnstoreAsync(['preflight', '--config', config])
      expect(fresh.status, fresh.stdout + fresh.stderr).to.equal(0)
      expect(fresh.stdout).to.contain('the node may start')

      // A write that fails on one replica: ChironFS disables it, and the node would run on one copy.
      sandbox.makeImmutable(join(r2, 'bitcoin'))
      sh('sqlite3', [join(dataDir, 'bitcoin', 'lightningd.sqlite3'), "UPDATE vars SET intval = intval + 1 WHERE name = 'data_version'"])
      const degraded = await lnstoreAsync(['preflight', '--config', config])
      expect(degraded.status, degraded.stdout).to.equal(2)
      expect(degraded.stdout).to.contain(`replica :${r2}`)
      const settings = JSON.parse(readFileSync(config, 'utf8'))
      writeFileSync(config, JSON.stringify({...settings, allowDegradedStart: true}))
      const allowed = await lnstoreAsync(['preflight', '--config', config])
      expect(allowed.status, allowed.stdout).to.equal(0)
      expect(allowed.stdout).to.contain('starting anyway: allowDegradedStart is set')
      sandbox.makeMutable(join(r2, 'bitcoin'))

      // An older database through the mount, as a careless restore leaves it.
      sh('sqlite3', [join(dataDir, 'bitcoin', 'lightningd.sqlite3'), "UPDATE vars SET intval = intval - 5 WHERE name = 'data_version'"])
      const older = await lnstoreAsync(['preflight', '--config', config])
      expect(older.status, older.stdout).to.equal(2)
      expect(older.stdout).to.contain('this data is OLDER than what the node last wrote')
    })

    it('a write fails on one replica: ChironFS disables it, status says CRITICAL (control socket, log and data_version) and mails it', async () => {
      const {config, r2, node, dataDir} = await mountedNode('fault')
      await lnstoreAsync(['status', '--config', config])
      const mailsBefore = smtp.messages.length
      // New files cannot be created there: the node's next transaction (its journal file) fails on r2 only.
      sandbox.makeImmutable(join(r2, 'bitcoin'))
      // ChironFS disables r2 at the node's next write; r2's data_version lags from the first commit after
      // that, which a look taken in between (the node descheduled mid-transaction, on a busy machine) has
      // not seen yet: wait for one status that sees both.
      const behind = /its node database is behind: data_version \d+, the newest replica has \d+/
      let run = await lnstoreAsync(['status', '--config', config, '--json'])
      await waitFor("ChironFS to disable r2 after the node's next write, and r2's data_version to lag", async () => {
        run = await lnstoreAsync(['status', '--config', config, '--json'])
        const replica = replicaOf(run.json(), r2)
        return replica.enabled === false && replica.findings.some((finding) => behind.test(finding.message))
      }, {pollMs: 200, seen: () => `node exit code ${node.exitCode}; ${run.stdout.slice(0, 2000)}`})
      const json = run.json()
      expect(run.status).to.equal(2)
      const stale = replicaOf(json, r2)
      const reasons = stale.findings.map((finding) => finding.message).join('\n')
      expect(reasons).to.contain('ChironFS disabled it after a write failed there')
      expect(reasons).to.match(behind)
      expect(json.chironfs.view.log.disabled).to.deep.equal([r2])
      const mail = (await smtp.waitFor(mailsBefore + 1)).at(-1)!
      // Not "pool chironfs": ChironFS has replicas, no pool.
      expect(mail.subject).to.match(new RegExp(`^\\[lnstore\\] CRITICAL \\(was WARNING\\): the ChironFS replicas at ${dataDir} on ${hostname()}`))
      expect(mail.text).to.contain('lnstore heal')
      node.kill('SIGTERM')
      sandbox.makeMutable(join(r2, 'bitcoin'))
    })

    it('after a remount that serves a stale replica, preflight refuses and advises lnstore heal, which brings the newest data back', async () => {
      const r1 = sandbox.replica('remount-r1', {ownFilesystem: true})
      const r2 = sandbox.replica('remount-r2', {ownFilesystem: true})
      const dataDir = join(sandbox.dir, 'remount-data')
      const config = sandbox.config('remount', dataDir, [r1, `:${r2}`], {node: {kind: 'commands', startCommand: 'true', stopCommand: 'true'}})
      const {chironfs} = JSON.parse(readFileSync(config, 'utf8'))
      sandbox.mount(dataDir, [r1, `:${r2}`], chironfs.controlSocket, chironfs.log)
      const node = spawn(process.execPath, ['--import', TSX, STANDIN, '--data-dir', dataDir, '--ack-log', join(sandbox.dir, 'remount-acks.log'), '--interval-ms', '50', '--rpc-file', join(sandbox.dir, 'remount-rpc')], {stdio: 'ignore'})
      nodes.push(node)
      const pidFile = join(dataDir, 'lightningd-bitcoin.pid')
      await waitFor('the stand-in node to start', () => existsSync(pidFile))
      // The local replica fails a write: ChironFS disables it and the node goes on writing to the slow one only.
      sandbox.makeImmutable(join(r1, 'bitcoin'))
      await waitFor('ChironFS to disable the local replica', async () => replicaOf((await status(config, '--json')).json(), r1).enabled === false)
      node.kill('SIGTERM')
      await waitFor('the stand-in node to stop', () => !existsSync(pidFile))
      const before = (await status(config, '--json')).json()
      const newest = replicaOf(before, r2).dataVersion!
      sandbox.makeMutable(join(r1, 'bitcoin'))
      // Remounted by hand, without a heal: ChironFS reads the local (stale) replica again.
      sh('fusermount', ['-u', dataDir])
      rmSync(chironfs.controlSocket, {force: true})
      sandbox.mount(dataDir, [r1, `:${r2}`], chironfs.controlSocket, chironfs.log)
      await waitFor('the remounted ChironFS to answer', () => existsSync(join(dataDir, 'bitcoin', 'lightningd.sqlite3')))
      const gate = await lnstoreAsync(['preflight', '--config', config])
      expect(gate.status, gate.stdout + gate.stderr).to.equal(2)
      expect(gate.stdout).to.contain('this data is OLDER than what the node last wrote')
      expect(gate.stdout).to.contain(`next: lnstore heal   (${r2} holds the newest intact copy`)
      expect(gate.stdout).to.not.contain('renamed original')
      expect(gate.stdout).to.not.contain('preflight ack')
      const heal = await lnstoreAsync(['heal', '--config', config, '--yes', '--json'])
      expect(heal.status, heal.stdout + heal.stderr).to.equal(0)
      expect(heal.json()).to.deep.include({authoritative: r2, dataVersion: newest})
      const again = await lnstoreAsync(['preflight', '--config', config])
      expect(again.status, again.stdout).to.equal(0)
    })

    it("ChironFS's process dies (the mount is listed but not connected): CRITICAL, the gate refuses, and the advice printed mounts it again", async () => {
      const r1 = sandbox.replica('dead-r1', {ownFilesystem: true})
      const r2 = sandbox.replica('dead-r2', {ownFilesystem: true})
      for (const replica of [r1, r2]) sandbox.database(replica, 6)
      const dataDir = join(sandbox.dir, 'dead-data')
      const config = sandbox.config('dead', dataDir, [r1, `:${r2}`])
      const {chironfs} = JSON.parse(readFileSync(config, 'utf8'))
      sandbox.mount(dataDir, [r1, `:${r2}`], chironfs.controlSocket, chironfs.log)
      await waitFor('the mount to answer', () => existsSync(join(dataDir, 'bitcoin')))
      process.kill(Number(sh('pgrep', ['-f', '-n', chironfs.controlSocket]).trim()), 'SIGKILL')
      const run = await status(config, '--json')
      expect(run.status, run.stdout).to.equal(2)
      const dead = run.json().pools[0].findings.find((finding: {message: string}) => /but does not answer/.test(finding.message))
      expect(dead?.message, run.stdout).to.contain(`ChironFS is mounted at ${dataDir} but does not answer (cannot statx '${dataDir}': Transport endpoint is not connected)`)
      expect(run.json().chironfs.mountProblem).to.match(/Transport endpoint is not connected/)
      const gate = await lnstoreAsync(['preflight', '--config', config])
      expect(gate.status, gate.stdout).to.equal(2)
      expect(gate.stdout).to.contain('DO NOT START')
      // The advice, as printed, without systemd here: the part after "or:".
      sh('sh', ['-c', /\(or: (.*)\)$/.exec(dead.next)![1]])
      await waitFor('the mount to answer again', () => existsSync(join(dataDir, 'bitcoin')))
      const again = (await status(config, '--json')).json()
      expect(again.chironfs).to.deep.include({mounted: true, mountProblem: null})
      expect(again.pools[0].state).to.equal('MOUNTED')
    })

    it('two replica entries that are one directory (a symlink): CRITICAL, and the gate refuses the start even with allowDegradedStart', async () => {
      const r1 = sandbox.replica('dup-r1', {ownFilesystem: true})
      sandbox.database(r1, 4)
      const link = join(sandbox.dir, 'dup-link')
      symlinkSync(r1, link)
      const dataDir = join(sandbox.dir, 'dup-data')
      const config = sandbox.config('dup', dataDir, [r1, `:${link}`], {allowDegradedStart: true})
      const {chironfs} = JSON.parse(readFileSync(config, 'utf8'))
      sandbox.mount(dataDir, [r1, `:${link}`], chironfs.controlSocket, chironfs.log)
      const run = await status(config)
      expect(run.status, run.stdout).to.equal(2)
      expect(run.stdout, run.stdout).to.contain(`CRITICAL replicas ${r1} and ${link} are one directory: ChironFS keeps one copy of the node's data there, not two`)
      expect(run.stdout).to.not.contain('same filesystem')
      expect(run.stdout).to.not.contain('differs from the other replicas')
      const gate = await lnstoreAsync(['preflight', '--config', config])
      expect(gate.status, gate.stdout).to.equal(2)
      expect(gate.stdout).to.contain('DO NOT START')
      expect(gate.stdout).to.contain('are one directory')
    })

    it('a replica that hangs (its filesystem stops answering, as a dead hard-mounted NFS server): CRITICAL within the probe timeout, no hang', async () => {
      // The replica is itself a FUSE mount (a second ChironFS) whose process is then stopped: every stat on it blocks.
      const hung = join(sandbox.dir, 'hang-r2')
      sandbox.mount(hung, [sandbox.replica('hang-backing1'), sandbox.replica('hang-backing2')], join(sandbox.dir, 'hang-inner.sock'), join(sandbox.dir, 'hang-inner.log'))
      const r1 = sandbox.replica('hang-r1', {ownFilesystem: true})
      sandbox.database(r1, 3)
      sandbox.database(hung, 3)
      const config = sandbox.config('hang', join(sandbox.dir, 'hang-data'), [r1, `:${hung}`], {chironfs: {probeTimeoutSeconds: 2}})
      const pid = Number(sh('pgrep', ['-f', '-n', `hang-inner.sock`]).trim())
      process.kill(pid, 'SIGSTOP')
      try {
        const started = Date.now()
        const run = await lnstoreAsync(['status', '--config', config, '--json'])
        const elapsed = Date.now() - started
        const json = run.json()
        expect(run.status).to.equal(2)
        expect(replicaOf(json, hung).probe).to.deep.include({reachable: false, timedOut: true})
        expect(replicaOf(json, hung).findings[0].message).to.match(/does not answer: no answer within 2 s \((stat|statfs|write) blocked/)
        expect(replicaOf(json, r1).verdict).to.equal('OK')
        console.log(`      (status answered in ${(elapsed / 1000).toFixed(1)} s with a replica hung, probe timeout 2 s)`)
      } finally {
        process.kill(pid, 'SIGCONT')
      }
    })
  })
})

/** Mirrors every transaction into the second database 30 ms after the first, as ChironFS writes one replica after the other. */
const MIRROR_WRITER = `
const Database = require('better-sqlite3')
const [first, second] = process.argv.slice(-2).map((path) => new Database(path))
let version = 1
setInterval(() => {
  version++
  first.prepare("UPDATE vars SET intval = ? WHERE name = 'data_version'").run(version)
  const at = version
  setTimeout(() => second.prepare("UPDATE vars SET intval = ? WHERE name = 'data_version'").run(at), 30)
}, 40)
`
