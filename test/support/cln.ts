/**
 * The real Core Lightning for tests: `lightningd` v26.06.6 from the shared prebuilt tarball, on a
 * regtest chain served by `fake-bitcoin-cli` (no bitcoind). See ../shared/prebuilt/README.md.
 *
 * The tarball is unpacked once per test process into a temporary folder (never into the tree) and
 * removed when the process exits. Where it is: LNSTORE_CLN_TARBALL (default
 * ../shared/prebuilt/cln/core-lightning-*.tar.zst beside the project) and LNSTORE_FAKE_BITCOIN_CLI
 * (default ../shared/prebuilt/cln/fake-bitcoin-cli), so the VM tier can point at its own mount.
 * Nothing here skips: a missing tarball, zstd or runtime library fails the test, naming what is missing.
 */
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import Database from 'better-sqlite3'

import {rpcCall} from '../../src/node/rpc.js'
import {WAIT_DEADLINE_MS, waitFor} from './wait.js'

const PROJECT = fileURLToPath(new URL('../..', import.meta.url))
const PREBUILT = resolve(PROJECT, '..', 'shared', 'prebuilt', 'cln')
const WRITER = fileURLToPath(new URL('cln-writer.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
/** The runtime packages the prebuilt README names (Debian 12). */
export const RUNTIME_PACKAGES = ['libsqlite3-0', 'libpq5', 'libsodium23', 'libgmp10', 'libssl3', 'zlib1g']
export const NETWORK = 'regtest'

export interface ClnPrograms {
  lightningd: string
  lightningCli: string
  hsmtool: string
  fakeBitcoinCli: string
}

let unpacked: ClnPrograms | undefined

/** The programs, unpacked on first use; throws saying exactly what is missing. */
export function clnPrograms(): ClnPrograms {
  if (unpacked) return unpacked
  const fakeBitcoinCli = process.env.LNSTORE_FAKE_BITCOIN_CLI ?? join(PREBUILT, 'fake-bitcoin-cli')
  const tarball = process.env.LNSTORE_CLN_TARBALL ?? (existsSync(PREBUILT) ? readdirSync(PREBUILT).filter((name) => /^core-lightning-.*\.tar\.zst$/.test(name)).map((name) => join(PREBUILT, name))[0] : undefined)
  if (!tarball || !existsSync(tarball)) throw new Error(`the real Core Lightning is missing: no core-lightning-*.tar.zst in ${PREBUILT} (or LNSTORE_CLN_TARBALL=${process.env.LNSTORE_CLN_TARBALL ?? ''}); the node tests need it`)
  if (!existsSync(fakeBitcoinCli)) throw new Error(`fake-bitcoin-cli is missing at ${fakeBitcoinCli} (set LNSTORE_FAKE_BITCOIN_CLI): the real node has no chain without it`)
  if (spawnSync('zstd', ['--version']).status !== 0) throw new Error('zstd is not installed: it unpacks the real Core Lightning (apt-get install zstd; scripts/test.sh installs it)')
  if (spawnSync('python3', ['--version']).status !== 0) throw new Error('python3 is not installed: fake-bitcoin-cli needs it')

  const dir = mkdtempSync(join(tmpdir(), 'lnstore-cln-'))
  process.once('exit', () => rmSync(dir, {recursive: true, force: true}))
  execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -xf - -C "$2"', 'unpack', tarball, dir], {stdio: ['ignore', 'ignore', 'pipe']})
  const bin = join(dir, 'cln', 'bin')
  const programs = {lightningd: join(bin, 'lightningd'), lightningCli: join(bin, 'lightning-cli'), hsmtool: join(bin, 'lightning-hsmtool'), fakeBitcoinCli}
  const missingLibraries = [...new Set(execFileSync('ldd', [programs.lightningd, programs.hsmtool], {encoding: 'utf8'}).split('\n').filter((line) => line.includes('not found')).map((line) => line.trim().split(/\s/)[0]))]
  if (missingLibraries.length > 0) {
    throw new Error(`lightningd cannot run here: missing ${missingLibraries.join(', ')} (install the runtime packages ${RUNTIME_PACKAGES.join(' ')}; scripts/test.sh does)`)
  }

  unpacked = programs
  return programs
}

/** A TCP port nobody listens on now (the node binds it for peers; tests never connect there). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const {port} = server.address() as {port: number}
  await new Promise((done) => server.close(done))
  return port
}

export interface Acknowledged {
  /** The p2tr address newaddr returned. */
  address: string
  /** Its key index (listaddresses), null when the node stopped before the lookup answered. */
  keyidx: number | null
  /** data_version read just after the answer: at least the version of this write. */
  dataVersion: number | null
  at: number
}

export interface WriteCheck {
  acknowledged: number
  /** Acknowledged addresses the wallet no longer derives (its bip86_max_index fell below their key index). */
  lost: string[]
  dataVersion: number
  /** The highest data_version seen after an acknowledged write. */
  highestAcknowledgedDataVersion: number
  bip86MaxIndex: number
  /** The longest time without an acknowledged write while the writer ran: the node's downtime as a client saw it. */
  longestGapMs: number
}

/** A real lightningd on regtest in `dataDir`, with its own chain, port and log (both outside dataDir). */
export class ClnNode {
  readonly programs = clnPrograms()
  readonly chainDir: string
  readonly logFile: string
  readonly ackLog: string
  private writer: ChildProcess | undefined

  /**
   * `workDir`: off the pool, holds the chain, the log and the acknowledgement log.
   * The chain starts 100 blocks old and grows one block every 30 s (bcli's production poll).
   */
  constructor(
    readonly dataDir: string,
    readonly workDir: string,
    readonly port: number,
  ) {
    this.chainDir = join(workDir, 'chain')
    this.logFile = join(workDir, 'lightningd.log')
    this.ackLog = join(workDir, 'acks.log')
    mkdirSync(this.chainDir, {recursive: true})
    const state = join(this.chainDir, 'state.json')
    if (!existsSync(state)) writeFileSync(state, JSON.stringify({start: Math.floor(Date.now() / 1000) - 100 * 30, interval: 30}))
  }

  static async create(dataDir: string, workDir: string): Promise<ClnNode> {
    return new ClnNode(dataDir, workDir, await freePort())
  }

  get networkDir(): string {
    return join(this.dataDir, NETWORK)
  }

  get database(): string {
    return join(this.networkDir, 'lightningd.sqlite3')
  }

  get socket(): string {
    return join(this.networkDir, 'lightning-rpc')
  }

  get pidFile(): string {
    return join(this.dataDir, `lightningd-${NETWORK}.pid`)
  }

  /** The shell command that starts this node and returns once it is up (for lnstore's --node-start-command). */
  get startCommand(): string {
    const q = (text: string) => `'${text.replaceAll("'", "'\\''")}'`
    return [
      `FAKE_BTC_DIR=${q(this.chainDir)}`,
      'setsid',
      q(this.programs.lightningd),
      `--network=${NETWORK}`,
      `--lightning-dir=${q(this.dataDir)}`,
      `--bitcoin-cli=${q(this.programs.fakeBitcoinCli)}`,
      `--bind-addr=127.0.0.1:${this.port}`,
      `--log-file=${q(this.logFile)}`,
      '--daemon',
      `</dev/null >>${q(this.logFile + '.out')} 2>&1`,
    ].join(' ')
  }

  /** The pid in the node's pid file when that process lives. */
  pid(): number | null {
    const pid = Number((existsSync(this.pidFile) ? readFileSync(this.pidFile, 'utf8') : '').trim())
    if (!Number.isInteger(pid) || pid <= 0) return null
    try {
      process.kill(pid, 0)
    } catch {
      return null
    }

    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : ''
    return /^\d+ \(lightningd\) [^Z]/.test(stat) ? pid : null
  }

  running(): boolean {
    return this.pid() !== null
  }

  /** Starts the node (lightningd --daemon returns once start-up is done); throws with its log's tail on a failed start. */
  start(): void {
    // The daemon keeps whatever output it was given open: a pipe here would block spawnSync for its lifetime.
    const result = spawnSync('sh', ['-c', this.startCommand], {encoding: 'utf8', stdio: 'ignore', timeout: Math.max(120_000, WAIT_DEADLINE_MS)})
    if (result.status !== 0) throw new Error(`lightningd did not start (exit ${result.status ?? result.signal}): ${this.logTail()}`)
  }

  /** The result of a JSON-RPC call. */
  call<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return rpcCall<T>(this.socket, method, params, 30_000)
  }

  getinfo(): Promise<{id: string; blockheight: number; network: string}> {
    return this.call('getinfo')
  }

  /** `stop`, then waits for the process to exit. */
  async stop(timeoutMs = WAIT_DEADLINE_MS): Promise<void> {
    const pid = this.pid()
    if (pid === null) return
    await this.call('stop').catch(() => {})
    await waitFor(`lightningd ${pid} to exit after stop`, () => this.pid() === null, {deadlineMs: timeoutMs, seen: () => `still running\n${this.logTail()}`})
  }

  /** Last resort for cleanup: SIGKILL the node this test started (its pid file's process). */
  kill(): void {
    const pid = this.pid()
    if (pid !== null) process.kill(pid, 'SIGKILL')
  }

  /** The vars the checks read, through a read-only connection with a busy timeout (the node may be writing). */
  readVars(): {dataVersion: number; bip86MaxIndex: number; nodeId: string | null} {
    const database = new Database(this.database, {readonly: true, fileMustExist: true, timeout: 10_000})
    try {
      const rows = database.prepare("SELECT name, intval, blobval FROM vars WHERE name IN ('data_version', 'bip86_max_index', 'node_id')").all() as {name: string; intval: number | null; blobval: Buffer | null}[]
      const value = (name: string) => rows.find((row) => row.name === name)
      return {dataVersion: Number(value('data_version')?.intval ?? -1), bip86MaxIndex: Number(value('bip86_max_index')?.intval ?? -1), nodeId: value('node_id')?.blobval?.toString('hex') ?? null}
    } finally {
      database.close()
    }
  }

  /** The node id its hsm_secret gives, as the real node derives it (lightning-hsmtool getnodeid). */
  hsmNodeId(): string {
    return execFileSync(this.programs.hsmtool, ['getnodeid', join(this.networkDir, 'hsm_secret')], {encoding: 'utf8'}).trim()
  }

  /**
   * Starts a writer process (off this test's event loop, so that it goes on while the test blocks
   * on a spawnSync'd lnstore): `newaddr` in a loop, each answer appended to the ack log. It keeps
   * trying while the node is down.
   */
  startWriter(): void {
    if (this.writer) return
    this.writer = spawn(process.execPath, ['--import', TSX, WRITER, this.socket, this.database, this.ackLog], {stdio: ['ignore', 'ignore', 'inherit']})
  }

  /** Stops the writer; resolves once it has exited (an answer in flight is logged or dropped, never half-written). */
  async stopWriter(): Promise<void> {
    const writer = this.writer
    if (!writer) return
    this.writer = undefined
    if (writer.exitCode !== null) return
    const exited = new Promise((done) => writer.once('exit', done))
    writer.kill('SIGTERM')
    await exited
  }

  acknowledged(): Acknowledged[] {
    if (!existsSync(this.ackLog)) return []
    return readFileSync(this.ackLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Acknowledged)
  }

  /** Waits until the writer has `count` more acknowledged writes than now (a sign the node is up and writing). */
  async acknowledgedMore(count: number, timeoutMs = WAIT_DEADLINE_MS): Promise<void> {
    const target = this.acknowledged().length + count
    await waitFor(`${target} acknowledged writes`, () => this.acknowledged().length >= target, {deadlineMs: timeoutMs, seen: () => `${this.acknowledged().length}; node ${this.running() ? 'running' : 'not running'}\n${this.logTail()}`})
  }

  /**
   * Every acknowledged address is still one the wallet derives (listaddresses, up to its
   * bip86_max_index), and data_version is not below any value seen after an acknowledged write.
   * Needs the node running.
   */
  async checkWrites(): Promise<WriteCheck> {
    const acks = this.acknowledged()
    const {addresses} = await this.call<{addresses: {keyidx: number; p2tr?: string; bech32?: string}[]}>('listaddresses')
    const known = new Map(addresses.map((entry) => [entry.p2tr, entry.keyidx]))
    const vars = this.readVars()
    const lost = acks.filter((ack) => !known.has(ack.address) || (ack.keyidx !== null && known.get(ack.address) !== ack.keyidx) || (ack.keyidx ?? 0) > vars.bip86MaxIndex).map((ack) => ack.address)
    const highestAcknowledgedDataVersion = Math.max(-1, ...acks.map((ack) => ack.dataVersion ?? -1))
    let longestGapMs = 0
    for (let index = 1; index < acks.length; index++) longestGapMs = Math.max(longestGapMs, acks[index].at - acks[index - 1].at)
    return {acknowledged: acks.length, lost, dataVersion: vars.dataVersion, highestAcknowledgedDataVersion, bip86MaxIndex: vars.bip86MaxIndex, longestGapMs}
  }

  logTail(lines = 15): string {
    return [this.logFile + '.out', this.logFile].map((file) => (existsSync(file) ? `last lines of ${file}:\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}` : `(no ${file})`)).join('\n')
  }

  /** Stops the writer and the node; SIGKILLs the node when it does not stop (cleanup after a failed test). */
  async cleanup(): Promise<void> {
    await this.stopWriter()
    await this.stop(30_000).catch(() => this.kill())
  }
}

/**
 * One line per run for the test output: the figures issue 14 asks for. With
 * LNSTORE_TEST_RESULT_LINES=1 (the VM tier) also a `LNSTORE-NODE-RUN {json}` line, from which
 * test/vm/summary.mjs prints the same figures per OpenZFS version.
 */
export function writeSummary(title: string, check: WriteCheck, extra: {downtimeSeconds?: number; killedAfter?: string[]} = {}): string {
  const kills = extra.killedAfter ?? []
  const gap = `${(check.longestGapMs / 1000).toFixed(1)} s`
  const parts = [
    `acknowledged writes ${check.acknowledged}`,
    `lost writes ${check.lost.length}`,
    `node downtime ${extra.downtimeSeconds === undefined ? `${gap} (longest gap between acknowledged writes)` : `${extra.downtimeSeconds.toFixed(1)} s (lnstore's report); longest gap between acknowledged writes ${gap}`}`,
    `kills survived ${kills.length}${kills.length > 0 ? ` (after ${kills.join(', ')})` : ''}`,
    `data_version ${check.dataVersion} (highest after an acknowledged write ${check.highestAcknowledgedDataVersion})`,
  ]
  const line = `      [real lightningd] ${title}: ${parts.join(', ')}`
  console.log(line)
  if (process.env.LNSTORE_TEST_RESULT_LINES === '1') {
    const figures = {title, acknowledged: check.acknowledged, lost: check.lost.length, downtimeSeconds: extra.downtimeSeconds ?? null, longestGapSeconds: check.longestGapMs / 1000, kills: kills.length}
    console.log(`LNSTORE-NODE-RUN ${JSON.stringify(figures)}`)
  }

  return line
}
