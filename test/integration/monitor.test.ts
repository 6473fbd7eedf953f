import {expect} from 'chai'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {BIN, lnstoreAsync} from '../support/cli.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {backend, ensureZfs, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** A running `lnstore monitor`: its stdout lines as they come. */
class Monitor {
  readonly lines: string[] = []
  readonly exited: Promise<number | null>
  private readonly child: ChildProcess
  private waiters: (() => void)[] = []

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [BIN, 'monitor', ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
    let partial = ''
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      this.lines.push(...lines)
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.exited = new Promise((resolve) => this.child.on('close', resolve))
  }

  get pid(): number {
    return this.child.pid!
  }

  /** The first line (from `from` on) that matches. */
  async line(pattern: RegExp, from = 0): Promise<string> {
    for (;;) {
      const found = this.lines.slice(from).find((line) => pattern.test(line))
      if (found) return found
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal)
    return this.exited
  }
}

describe(`lnstore monitor on real ZFS (${backend})`, function () {
  const sandbox = new ZfsSandbox()
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-monitor-'))
  const server = new TestSmtpServer()
  let env: NodeJS.ProcessEnv
  let mirror: PoolHandle
  let monitor: Monitor

  before(async () => {
    await ensureZfs()
    env = {LNSTORE_STATE_DIR: join(dir, 'state'), LNSTORE_CONFIG: alertConfig(dir, await server.start())}
    mirror = sandbox.createPool('lnsmon', ['mirror'], sandbox.devices(2))
    await sandbox.scrub(mirror)
    monitor = new Monitor(['--pool', mirror.name, '--interval', '2s'], env)
  })

  after(async () => {
    await monitor.stop('SIGKILL')
    sandbox.cleanup()
    await server.stop()
  })

  it('checks at once and then every interval, one line per event on standard output', async () => {
    expect(await monitor.line(/^monitor started/)).to.match(new RegExp(`^monitor started \\(pid ${monitor.pid}\\): health check every 2s, weekly scrub Sun 03:00 \\+ up to 60 min \\(next \\d{4}-\\d\\d-\\d\\d 0[34]:\\d\\d `))
    const first = monitor.lines.length
    expect(await monitor.line(/^check: /)).to.equal(`check: OK (${mirror.name} OK)`)
    await monitor.line(/^check: /, first + 1)
    expect(monitor.lines.filter((line) => line.startsWith('check: ')).length).to.be.greaterThanOrEqual(2)
  })

  it('one monitor at a time: a second one says which process runs, and exits 1', async () => {
    const second = await lnstoreAsync(['monitor', '--pool', mirror.name], {env})
    expect(second.status).to.equal(1)
    expect(second.errors).to.contain(`another lnstore monitor is running (pid ${monitor.pid}); one is enough`)
  })

  it('a device fault becomes a mail at the next check', async () => {
    const from = monitor.lines.length
    sh('zpool', ['offline', mirror.name, mirror.devices[1]])
    const [mail] = await server.waitFor(1)
    expect(mail.subject).to.equal(`[lnstore] CRITICAL: pool ${mirror.name} on ${hostname()}: mirror-0 has no redundant copy left (${mirror.devices[1]} missing): one more failure loses data`)
    expect(await monitor.line(/^check: CRITICAL/, from)).to.equal(`check: CRITICAL (${mirror.name} CRITICAL)`)
    expect(await monitor.line(/^mail sent: /, from)).to.match(/^mail sent: "\[lnstore\] CRITICAL: pool .*" to ops@example.org, node-owner@example.org \(250 OK: message queued\)$/)
  })

  it('SIGTERM stops it cleanly: exit 0, a last line, its lock released', async () => {
    expect(await monitor.stop('SIGTERM')).to.equal(0)
    expect(monitor.lines.at(-1)).to.match(/^monitor stopped after \d+ checks, 0 scrubs, 1 mails sent$/)
    expect(monitor.lines).to.satisfy((lines: string[]) => lines.some((line) => /^stopping \(SIGTERM\): /.test(line)))
    expect(existsSync(join(dir, 'state', 'monitor.lock'))).to.equal(false)
    sh('zpool', ['online', mirror.name, mirror.devices[1]])
  })
})
