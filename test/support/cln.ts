/**
 * The real Core Lightning for tests: `lightningd` v26.06.6 from the shared prebuilt tarball, on a
 * regtest chain served by `fake-bitcoin-cli` (no bitcoind). See ../shared/prebuilt/README.md.
 *
 * The tarball is unpacked once per test process into a temporary folder (never into the tree) and
 * removed when the process exits. Where it is, how it starts and how acknowledged writes are checked
 * is src/demo/cln.ts (the demo runs the same node): LNSTORE_CLN_TARBALL and LNSTORE_FAKE_BITCOIN_CLI,
 * else ../shared/prebuilt/cln beside the project (also in the VM, where ../shared is mounted).
 * Nothing here skips: a missing tarball, zstd or runtime library fails the test, naming what is missing.
 */
import {execFileSync, spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {checkAcknowledged, CLN_NETWORK, CLN_WRITER, ClnMissing, clnStartCommand, freePort, prepareChain, readAcknowledged, readClnVars, unpackCln, type Acknowledged, type ClnPrograms, type WriteCheck} from '../../src/demo/cln.js'
import {rpcCall} from '../../src/node/rpc.js'
import {WAIT_DEADLINE_MS, waitFor} from './wait.js'

const TSX = import.meta.resolve('tsx')
export const NETWORK = CLN_NETWORK
export type {ClnPrograms, WriteCheck}

let unpacked: ClnPrograms | undefined

/** The programs, unpacked on first use into a folder removed when the process exits; throws saying exactly what is missing. */
export function clnPrograms(): ClnPrograms {
  if (unpacked) return unpacked
  const dir = mkdtempSync(join(tmpdir(), 'lnstore-cln-'))
  process.once('exit', () => rmSync(dir, {recursive: true, force: true}))
  try {
    unpacked = unpackCln(dir)
  } catch (error) {
    if (error instanceof ClnMissing) throw new Error(`the real Core Lightning cannot run here: ${error.message}; the node tests need it (scripts/test.sh installs the packages)`)
    throw error
  }

  return unpacked
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
    prepareChain(this.chainDir)
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
    return clnStartCommand(this.programs, {dataDir: this.dataDir, chainDir: this.chainDir, logFile: this.logFile, port: this.port})
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

  /** The vars the checks read (read-only, with a busy timeout: the node may be writing). */
  readVars(): ReturnType<typeof readClnVars> {
    return readClnVars(this.database)
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
    this.writer = spawn(process.execPath, ['--import', TSX, CLN_WRITER, this.socket, this.database, this.ackLog], {stdio: ['ignore', 'ignore', 'inherit']})
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
    return readAcknowledged(this.ackLog)
  }

  /** Waits until the writer has `count` more acknowledged writes than now (a sign the node is up and writing). */
  async acknowledgedMore(count: number, timeoutMs = WAIT_DEADLINE_MS): Promise<void> {
    const target = this.acknowledged().length + count
    await waitFor(`${target} acknowledged writes`, () => this.acknowledged().length >= target, {deadlineMs: timeoutMs, seen: () => `${this.acknowledged().length}; node ${this.running() ? 'running' : 'not running'}\n${this.logTail()}`})
  }

  /** Every acknowledged write still in the wallet, data_version never below what was acknowledged (src/demo/cln.ts). Needs the node running. */
  checkWrites(): Promise<WriteCheck> {
    return checkAcknowledged(this.socket, this.database, this.ackLog)
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
