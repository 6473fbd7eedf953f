import {expect} from 'chai'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CommandError, commandLine, defaultTimeoutMs, processRunner, runChecked} from '../../src/system/runner.js'
import {StubRunner} from '../support/stub-runner.js'
import {waitFor} from '../support/wait.js'

/** Whether a process exists (signal 0 only checks). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the process runner (real processes)', () => {
  it('answers by the deadline when the child ignores SIGTERM, and reports it killed, never exit 0', async () => {
    // The child ignores SIGTERM and its own child (a sleep far longer than mocha's timeout) holds the
    // output pipes: only SIGKILL to the whole group ends it. A runner that waited for the pipes would
    // hit mocha's timeout; one that killed only the shell would leave the sleep running.
    const pidFile = join(mkdtempSync(join(tmpdir(), 'lnstore-runner-')), 'sleep.pid')
    const script = `trap "" TERM; sleep 3000 & echo $! > ${pidFile}; wait; echo done`
    const result = await processRunner.run(['sh', '-c', script], {timeoutMs: 500})
    expect(result).to.deep.include({exitCode: null, timedOut: true, signal: 'SIGKILL'})
    expect(result.stdout).to.equal('')
    const sleepPid = Number(readFileSync(pidFile, 'utf8'))
    await waitFor(`the grandchild sleep (pid ${sleepPid}) killed with its group`, () => !processExists(sleepPid))
    const error = new CommandError(result)
    expect(error.message).to.contain(`sh -c '${script.replaceAll("'", "'\\''")}' failed (no answer in time; killed)`)
  })

  it('gives 127 with a clear message for a program that does not exist', async () => {
    const result = await processRunner.run(['lnstore-no-such-program', '--version'])
    expect(result.exitCode).to.equal(127)
    expect(result.stderr).to.equal('could not start lnstore-no-such-program: not found (is it installed and on PATH?)')
    const error = await runChecked(processRunner, ['lnstore-no-such-program']).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(CommandError).and.have.property('message', 'lnstore-no-such-program failed (exit code 127): could not start lnstore-no-such-program: not found (is it installed and on PATH?)')
  })

  it('keeps an argument with spaces and quotes one argument (no shell in between)', async () => {
    const tricky = `it's a "pool" $HOME; echo no`
    const result = await processRunner.run(['printf', '%s|', tricky, 'two'])
    expect(result).to.deep.include({exitCode: 0, stdout: `${tricky}|two|`})
    expect(commandLine(['printf', tricky])).to.equal(`printf 'it'\\''s a "pool" $HOME; echo no'`)
  })

  it('passes input on standard input, and keeps exit code and stderr of a failing program', async () => {
    expect(await processRunner.run(['cat'], {input: 'tank\nbackup\n'})).to.deep.include({exitCode: 0, stdout: 'tank\nbackup\n'})
    const failed = await processRunner.run(['sh', '-c', 'echo "cannot open tank" >&2; exit 1'])
    expect(failed).to.deep.include({exitCode: 1, stdout: '', stderr: 'cannot open tank\n'})
    expect(new CommandError(failed).message).to.equal(`sh -c 'echo "cannot open tank" >&2; exit 1' failed (exit code 1): cannot open tank`)
  })

  it('bounds zpool and zfs reads by a minute by default, changes and other programs by ten', () => {
    expect(defaultTimeoutMs(['zpool', 'status', '-j', 'tank'])).to.equal(60_000)
    expect(defaultTimeoutMs(['/usr/sbin/zfs', 'get', 'all', 'tank/ln'])).to.equal(60_000)
    expect(defaultTimeoutMs(['zpool', 'create', 'tank', 'mirror', 'sda', 'sdb'])).to.equal(600_000)
    expect(defaultTimeoutMs(['systemctl', 'stop', 'lightningd'])).to.equal(600_000)
  })

  it('reports a child killed by a signal from elsewhere as killed, not as a timeout', async () => {
    const result = await processRunner.run(['sh', '-c', 'kill -TERM $$'])
    expect(result).to.deep.include({exitCode: null, signal: 'SIGTERM'})
    expect(result.timedOut).to.equal(undefined)
    expect(new CommandError(result).message).to.contain('(killed by SIGTERM)')
  })

  describe('output through temporary files, and through pipes where none can be made', () => {
    const savedTmpdir = process.env.TMPDIR
    afterEach(() => {
      if (savedTmpdir === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = savedTmpdir
    })

    // More than a pipe holds (64 KiB), in UTF-8 with characters of several bytes, on both streams.
    const script = 'i=0; while [ $i -lt 3000 ]; do echo "ligne $i: données ₿ ✓"; echo "err $i ⚡" >&2; i=$((i+1)); done; exit 3'
    const lines = (make: (i: number) => string) => Array.from({length: 3000}, (_, i) => `${make(i)}\n`).join('')
    const expected = {exitCode: 3, stdout: lines((i) => `ligne ${i}: données ₿ ✓`), stderr: lines((i) => `err ${i} ⚡`)}

    it('keeps all of stdout and stderr, apart, and leaves no file behind', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'lnstore-runner-tmp-'))
      process.env.TMPDIR = scratch
      const result = await processRunner.run(['sh', '-c', script])
      expect(result).to.deep.include(expected)
      expect(readdirSync(scratch)).to.deep.equal([])
    })

    it('answers the same through pipes where the temporary folder cannot take a file', async () => {
      process.env.TMPDIR = join(tmpdir(), 'lnstore-no-such-folder', 'below')
      expect(await processRunner.run(['sh', '-c', script])).to.deep.include(expected)
      expect(await processRunner.run(['cat'], {input: 'tank\n'})).to.deep.include({exitCode: 0, stdout: 'tank\n'})
    })
  })
})

describe('runChecked', () => {
  const busy = {exitCode: 1, stderr: "cannot unmount '/srv/ln': Device or resource busy"}

  it('tries a command that says "busy" again when asked to, and returns once it succeeds', async () => {
    const runner = new StubRunner().expect(['zfs', 'unmount', 'tank/ln'], busy).expect(['zfs', 'unmount', 'tank/ln'], {})
    expect((await runChecked(runner, ['zfs', 'unmount', 'tank/ln'], {retryWhileBusy: true})).exitCode).to.equal(0)
  })

  it('fails at once without the option, and on any other error', async () => {
    const once = new StubRunner().expect(['zfs', 'unmount', 'tank/ln'], busy)
    expect(await runChecked(once, ['zfs', 'unmount', 'tank/ln']).catch((error: unknown) => error)).to.be.instanceOf(CommandError)
    const other = new StubRunner().expect(['zfs', 'destroy', 'tank/ln'], {exitCode: 1, stderr: "cannot open 'tank/ln': dataset does not exist"})
    const error = await runChecked(other, ['zfs', 'destroy', 'tank/ln'], {retryWhileBusy: true}).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(CommandError).and.have.property('message').that.contains('dataset does not exist')
  })

  it('passes timeout and input through to the runner', async () => {
    const runner = new StubRunner().expect(['zpool', 'import', 'tank'], {}, {timeoutMs: 5000, input: 'y\n'})
    await runChecked(runner, ['zpool', 'import', 'tank'], {timeoutMs: 5000, input: 'y\n'})
  })
})

describe('the stub runner', () => {
  it('compares argv as arrays and checks the options', async () => {
    const spaced = new StubRunner().expect(['zfs', 'set', 'lnstore:note=a b', 'tank'], {})
    expect(await spaced.run(['zfs', 'set', 'lnstore:note=a', 'b', 'tank']).catch((error: Error) => error.message)).to.contain('unexpected call')
    const timed = new StubRunner().expect(['zpool', 'list'], {}, {timeoutMs: 1000})
    expect(await timed.run(['zpool', 'list']).catch((error: Error) => error.message)).to.contain('unexpected call')
    expect(() => spaced.verify()).to.throw(/unexpected call.*\n.*expected call never came/)
    expect(() => timed.verify()).to.throw(/with \{"timeoutMs":1000\}/)
  })

  it('says which expected calls never came', () => {
    const stub = new StubRunner().expect(['zpool', 'scrub', 'tank'], {})
    expect(() => stub.verify()).to.throw('expected call never came: ["zpool","scrub","tank"] = zpool scrub tank')
  })
})
