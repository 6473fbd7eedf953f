import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {appendFileSync, closeSync, constants, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {BIN} from '../support/cli.js'
import {FIXTURES} from '../support/fixtures.js'
import {waitFor} from '../support/wait.js'

/**
 * bin/run.js answers plain `status` and `preflight` calls through the fast entry (src/cli/fast.ts)
 * and everything else through oclif. The same command lines run through oclif alone must give the
 * same standard output, standard error and exit code: results, errors, --json, help, usage errors.
 */
const EXECUTE = pathToFileURL(createRequire(import.meta.url).resolve('@oclif/core/execute')).href
const OCLIF_ONLY = `import {execute} from ${JSON.stringify(EXECUTE)}\nawait execute({dir: ${JSON.stringify(join(BIN, '..', '..'))}})\n`

interface Outcome {
  status: number | null
  stdout: string
  stderr: string
}

function run(entry: string, args: string[], env: NodeJS.ProcessEnv): Outcome {
  const argv = [entry, ...args]
  const result = spawnSync(process.execPath, argv, {encoding: 'utf8', cwd: join(BIN, '..', '..'), env: {...process.env, NO_COLOR: '1', ...env}})
  // The check's own time is the one thing two runs cannot share.
  const stdout = result.stdout.replace(/"checkedAt": \d+/g, '"checkedAt": 0')
  return {status: result.status, stdout, stderr: result.stderr}
}

describe('the fast entry answers as oclif does', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-fast-'))
  const config = join(dir, 'config.yaml')
  const env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(dir, 'state')}
  const healthy = `${FIXTURES}zfs-fuse-0.7.0/mirror-healthy.txt`
  const degraded = `${FIXTURES}zfs-fuse-0.7.0/degraded-offline.txt`
  const oclifOnly = join(dir, 'oclif-only.mjs')
  before(() => {
    writeFileSync(config, 'alerts: {}\n')
    writeFileSync(oclifOnly, OCLIF_ONLY)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  const cases: {args: string[]; env?: NodeJS.ProcessEnv}[] = [
    {args: ['status', '--input', healthy, '--json']},
    {args: ['status', '--input', degraded]},
    {args: ['status', '-i', degraded, '--no-alert', '--json']},
    {args: ['status', '--input', degraded, '--json'], env: {LNSTORE_ALERT: 'no'}},
    {args: ['status', '--input', join(dir, 'missing.txt')]},
    {args: ['status', '--input', join(dir, 'missing.txt'), '--json']},
    {args: ['status', '--input', healthy, '--config', join(dir, 'nonexistent.yaml')]},
    {args: ['status', '--help']},
    {args: ['status', '-h']},
    {args: ['status', '--bogus']},
    {args: ['status', '--input']},
    {args: ['preflight']},
    {args: ['preflight', '--json']},
    {args: ['preflight', 'extra']},
  ]

  // The fast entry writes standard output itself (src/cli/oclif-lite/command.ts); where the pipe is
  // full and left non-blocking by whoever made it, the rest must still arrive, whole and in order.
  it('a long answer through a full non-blocking pipe arrives whole', async () => {
    const rows = Array.from({length: 600}, (_, index) => `\t  mirror-${index}  ONLINE  0 0 0\n\t    sd${index}a  ONLINE  0 0 0\n\t    sd${index}b  ONLINE  0 0 ${index % 7}`)
    const big = join(dir, 'big.txt')
    writeFileSync(big, `  pool: tank\n state: ONLINE\nconfig:\n\n\tNAME  STATE  READ WRITE CKSUM\n\ttank  ONLINE  0 0 0\n${rows.join('\n')}\n\nerrors: No known data errors\n`)
    const expected = run(BIN, ['status', '--input', big], env)
    const PIPE_CAPACITY = 65536
    expect(expected.stdout.length, expected.stderr).to.be.greaterThan(2 * PIPE_CAPACITY)
    const fifo = join(dir, 'out.fifo')
    expect(spawnSync('mkfifo', [fifo]).status).to.equal(0)
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const writer = openSync(fifo, constants.O_WRONLY)
    // A child's standard output is blocking as Node (libuv) spawns it; a pipe made non-blocking by
    // another program shows like this: the child's fd 1 opened by libuv as a pipe handle, before lnstore runs.
    const nonBlocking = join(dir, 'non-blocking-stdout.cjs')
    writeFileSync(nonBlocking, "new (require('node:net').Socket)({fd: 1, readable: false}).unref()\n")
    const child = spawn(process.execPath, ['--require', nonBlocking, BIN, 'status', '--input', big], {stdio: ['ignore', writer, 'ignore'], env: {...process.env, NO_COLOR: '1', ...env}})
    closeSync(writer)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    // Nothing is read until the pipe is full: the child's next write finds it so.
    const written = () => Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${child.pid}/io`, 'utf8'))?.[1])
    await waitFor('the child to fill the pipe', () => written() >= PIPE_CAPACITY, {seen: () => `${written()} bytes written`})
    const chunks: Buffer[] = []
    const buffer = Buffer.alloc(PIPE_CAPACITY)
    await waitFor('the end of the answer', () => {
      for (;;) {
        let read: number
        try {
          read = readSync(reader, buffer)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return false
          throw error
        }

        if (read === 0) return true
        chunks.push(Buffer.from(buffer.subarray(0, read)))
      }
    }, {seen: () => `${Buffer.concat(chunks).length} bytes read`})
    closeSync(reader)
    expect({status: await exited, stdout: Buffer.concat(chunks).toString()}).to.deep.equal({status: expected.status, stdout: expected.stdout})
  })

  for (const {args, env: extra} of cases) {
    it(`lnstore ${args.map((arg) => arg.replace(dir, 'DIR').replace(FIXTURES, '')).join(' ')}${extra ? ` (${JSON.stringify(extra)})` : ''}`, () => {
      const fast = run(BIN, args, {...env, ...extra})
      const oclif = run(oclifOnly, args, {...env, ...extra})
      expect(fast).to.deep.equal(oclif)
      expect(fast.stdout + fast.stderr, 'each case says something').to.not.equal('')
    })
  }
})

/**
 * bin/run.js keeps V8's compiled code of the fast entry beside the bundle, named by the bundle's
 * size and time of change and by the paths whose code it holds. Run here on a copy of bin/ and the
 * bundle, so the checkout's own cache is left alone.
 */
describe("the fast entry's code cache", () => {
  const root = mkdtempSync(join(tmpdir(), 'lnstore-cache-'))
  const bundle = join(root, 'dist', 'fast', 'fast.cjs')
  const config = join(root, 'config.yaml')
  const env = {LNSTORE_CONFIG: config, LNSTORE_STATE_DIR: join(root, 'state')}
  const healthy = `${FIXTURES}zfs-fuse-0.7.0/mirror-healthy.txt`
  const caches = () => readdirSync(join(root, 'dist', 'fast')).filter((name) => name !== 'fast.cjs')
  const named = (paths: string) => {
    const {size, mtimeMs} = statSync(bundle)
    const build = /lnstore-build=([0-9a-f]+)\n$/.exec(readFileSync(bundle, 'utf8'))?.[1] ?? 'none'
    return `fast.cjs.${size}-${Math.trunc(mtimeMs)}-${build}.${paths}.v8cache`
  }

  before(() => {
    const checkout = join(BIN, '..', '..')
    mkdirSync(join(root, 'bin'))
    mkdirSync(join(root, 'dist', 'fast'), {recursive: true})
    copyFileSync(BIN, join(root, 'bin', 'run.js'))
    copyFileSync(join(checkout, 'bin', 'package.json'), join(root, 'bin', 'package.json'))
    copyFileSync(join(checkout, 'dist', 'fast', 'fast.cjs'), bundle)
    copyFileSync(join(checkout, 'package.json'), join(root, 'package.json'))
    symlinkSync(join(checkout, 'node_modules'), join(root, 'node_modules'))
    writeFileSync(config, 'alerts: {}\n')
  })
  after(() => rmSync(root, {recursive: true, force: true}))

  const status = () => run(join(root, 'bin', 'run.js'), ['status', '--input', healthy], env)
  let answer: Outcome

  it('the first run writes its path\'s cache, named by how it ended; the next reads it and writes nothing', () => {
    answer = status()
    expect(answer.status, answer.stderr).to.equal(0)
    expect(caches()).to.deep.equal([named('status-input.exit0')])
    const written = statSync(join(root, 'dist', 'fast', named('status-input.exit0')))
    expect(status()).to.deep.equal(answer)
    const after = statSync(join(root, 'dist', 'fast', named('status-input.exit0')))
    expect([after.ino, after.mtimeMs]).to.deep.equal([written.ino, written.mtimeMs])
  })

  it('each path keeps a cache of its own; a refusal\'s is replaced by the first run that exits 0', () => {
    const preflight = () => run(join(root, 'bin', 'run.js'), ['preflight'], env)
    const refused = preflight()
    expect(refused.status, refused.stderr).to.equal(3)
    expect(caches().sort()).to.deep.equal([named('preflight.exit3'), named('status-input.exit0')])
    const written = statSync(join(root, 'dist', 'fast', named('preflight.exit3')))
    expect(preflight()).to.deep.equal(refused)
    expect(statSync(join(root, 'dist', 'fast', named('preflight.exit3'))).mtimeMs, 'another refusal writes nothing').to.equal(written.mtimeMs)
    expect(status()).to.deep.equal(answer)
    // Left to oclif (which this copy without commands answers with an error): no cache of that path.
    run(join(root, 'bin', 'run.js'), ['status', '--help'], env)
    expect(caches().sort(), 'a hot command line oclif answered writes no cache of that path').to.deep.equal([named('preflight.exit3'), named('status-input.exit0')])
    writeFileSync(join(root, 'dist', 'fast', named('preflight.exit0')), readFileSync(join(root, 'dist', 'fast', named('preflight.exit3'))))
    rmSync(join(root, 'dist', 'fast', named('preflight.exit3')))
    expect(preflight()).to.deep.equal(refused)
    expect(caches().sort(), 'a cache from a run that exited 0 stays').to.deep.equal([named('preflight.exit0'), named('status-input.exit0')])
    rmSync(join(root, 'dist', 'fast', named('status-input.exit0')))
    const degraded = run(join(root, 'bin', 'run.js'), ['status', '--input', `${FIXTURES}zfs-fuse-0.7.0/degraded-offline.txt`], env)
    expect(degraded.status, degraded.stderr).to.not.equal(0)
    expect(caches().sort()).to.deep.equal([named('preflight.exit0'), named(`status-input.exit${degraded.status}`)])
    expect(status()).to.deep.equal(answer)
    expect(caches().sort(), 'the first run that exits 0 writes it again').to.deep.equal([named('preflight.exit0'), named('status-input.exit0')])
  })

  it('a changed bundle never meets the old cache', () => {
    const old = caches()
    appendFileSync(bundle, '\n// changed\n')
    expect(status()).to.deep.equal(answer)
    expect(caches()).to.deep.equal([named('status-input.exit0')])
    expect(caches()).to.not.include(old[0])
  })

  it('a cache V8 refuses (damaged) is replaced, and the answer is the same', () => {
    writeFileSync(join(root, 'dist', 'fast', named('status-input.exit0')), 'not a code cache')
    expect(status()).to.deep.equal(answer)
    expect(caches()).to.deep.equal([named('status-input.exit0')])
    expect(readFileSync(join(root, 'dist', 'fast', named('status-input.exit0')), 'utf8')).to.not.equal('not a code cache')
  })
})
