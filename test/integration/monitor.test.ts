import {expect} from 'chai'
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'

import {BIN, lnstoreAsync} from '../support/cli.js'
import {alertConfig, TestSmtpServer} from '../support/smtp.js'
import {waitFor} from '../support/wait.js'
import {backend, ensureZfs, sh, ZfsSandbox, type PoolHandle} from '../support/zfs-sandbox.js'

/** A running `lnstore monitor`: its stdout lines as they come. */
class Monitor {
  readonly lines: string[] = []
  readonly exited: Promise<number | null>
  private readonly child: ChildProcess

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [BIN, 'monitor', ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
    let partial = ''
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      this.lines.push(...lines)
    })
    this.exited = new Promise((resolve) => this.child.on('close', resolve))
  }

  get pid(): number {
    return this.child.pid!
  }

  /** The first line (from index `from` on) that matches. */
  async line(pattern: RegExp, from = 0): Promise<string> {
    return (await this.lineAt(pattern, from)).line
  }

  /** The first line (from index `from` on) that matches, with its index; fails after the wait deadline with the lines seen. */
  async lineAt(pattern: RegExp, from = 0): Promise<{line: string; index: number}> {
    return waitFor(`a line matching ${pattern} from line ${from} on`, () => {
      const index = this.lines.findIndex((line, at) => at >= from && pattern.test(line))
      return index !== -1 && {line: this.lines[index], index}
    }, {pollMs: 20, seen: () => this.lines.join(' | ')})
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
    const first = await monitor.lineAt(/^check: /)
    expect(first.line).to.equal(`check: OK (${mirror.name} OK)`)
    expect((await monitor.lineAt(/^check: /, first.index + 1)).line).to.equal(`check: OK (${mirror.name} OK)`)
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

  it('a check slower than the interval: one plain line that the turn is skipped, not node-cron\'s "overlap prevention"', async () => {
    // A zpool that answers as the real one, 2.5 s late (a busy or slow pool), under a 1 s interval.
    const slow = join(dir, 'slow-bin')
    mkdirSync(slow, {recursive: true})
    const real = sh('sh', ['-c', 'command -v zpool']).trim()
    writeFileSync(join(slow, 'zpool'), `#!/bin/sh\nsleep 2.5\nexec '${real}' "$@"\n`)
    chmodSync(join(slow, 'zpool'), 0o755)
    const slowMonitor = new Monitor(['--pool', mirror.name, '--interval', '1s'], {...env, PATH: `${slow}:${process.env.PATH}`, LNSTORE_STATE_DIR: join(dir, 'slow-state')})
    try {
      expect(await slowMonitor.line(/still running|overlap/)).to.equal('health check: the last one is still running; this turn is skipped')
      expect(slowMonitor.lines.filter((line) => /overlap/.test(line))).to.deep.equal([])
    } finally {
      await slowMonitor.stop('SIGKILL')
    }
  })
})
