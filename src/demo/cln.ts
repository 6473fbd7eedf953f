/**
 * The real Core Lightning, for `lnstore demo` and the tests: the prebuilt `lightningd` v26.06.6
 * (Debian 12) and the `fake-bitcoin-cli` that serves it a regtest chain without bitcoind (see
 * ../shared/prebuilt/README.md beside a checkout). It is found through LNSTORE_CLN_TARBALL and
 * LNSTORE_FAKE_BITCOIN_CLI, else in ../shared/prebuilt/cln beside the package, and unpacked into a
 * folder the caller owns (never into the package). Also here: the command that starts a node on its
 * own chain, and the check that every write it acknowledged (an address `newaddr` handed out) is
 * still in its wallet.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import Database from 'better-sqlite3'

import {rpcCall} from '../node/rpc.js'
import {commandLine} from '../system/runner.js'

/** The runtime packages the prebuilt README names (Debian 12). */
export const CLN_RUNTIME_PACKAGES = ['libsqlite3-0', 'libpq5', 'libsodium23', 'libgmp10', 'libssl3', 'zlib1g']
export const CLN_NETWORK = 'regtest'
/** ../shared/prebuilt/cln beside the package (a checkout: the project folder; dist/ or src/ are two levels down). */
const PREBUILT = resolve(fileURLToPath(new URL('../..', import.meta.url)), '..', 'shared', 'prebuilt', 'cln')
/** The acknowledged-write writer, run as its own process (`node cln-writer.js` or through tsx). */
export const CLN_WRITER = fileURLToPath(new URL(`cln-writer${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url))

export interface ClnPrograms {
  lightningd: string
  lightningCli: string
  hsmtool: string
  fakeBitcoinCli: string
}

/** The real node cannot run here; the message says what is missing and how to get it. */
export class ClnMissing extends Error {}

/**
 * Unpacks the prebuilt Core Lightning into `into` (created) and checks it can run here.
 * Throws ClnMissing naming what is missing: the tarball, fake-bitcoin-cli, zstd, python3 or a library.
 */
export function unpackCln(into: string, env: NodeJS.ProcessEnv = process.env): ClnPrograms {
  const fakeBitcoinCli = env.LNSTORE_FAKE_BITCOIN_CLI || join(PREBUILT, 'fake-bitcoin-cli')
  const tarball = env.LNSTORE_CLN_TARBALL || (existsSync(PREBUILT) ? readdirSync(PREBUILT).filter((name) => /^core-lightning-.*\.tar\.zst$/.test(name)).map((name) => join(PREBUILT, name))[0] : undefined)
  if (env.LNSTORE_CLN_TARBALL && !existsSync(env.LNSTORE_CLN_TARBALL)) throw new ClnMissing(`${env.LNSTORE_CLN_TARBALL} (LNSTORE_CLN_TARBALL) does not exist`)
  if (!tarball) throw new ClnMissing(`no core-lightning-*.tar.zst in ${PREBUILT} (or set LNSTORE_CLN_TARBALL to one, and LNSTORE_FAKE_BITCOIN_CLI)`)
  if (!existsSync(fakeBitcoinCli)) throw new ClnMissing(`fake-bitcoin-cli is missing at ${fakeBitcoinCli} (set LNSTORE_FAKE_BITCOIN_CLI): the node has no chain without it`)
  if (spawnSync('zstd', ['--version']).status !== 0) throw new ClnMissing('zstd is not installed: it unpacks Core Lightning (apt-get install zstd)')
  if (spawnSync('python3', ['--version']).status !== 0) throw new ClnMissing('python3 is not installed: fake-bitcoin-cli needs it (apt-get install python3)')

  mkdirSync(into, {recursive: true})
  execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -xf - -C "$2"', 'unpack', tarball, into], {stdio: ['ignore', 'ignore', 'pipe']})
  const bin = join(into, 'cln', 'bin')
  const programs = {lightningd: join(bin, 'lightningd'), lightningCli: join(bin, 'lightning-cli'), hsmtool: join(bin, 'lightning-hsmtool'), fakeBitcoinCli}
  const missingLibraries = [...new Set(execFileSync('ldd', [programs.lightningd, programs.hsmtool], {encoding: 'utf8'}).split('\n').filter((line) => line.includes('not found')).map((line) => line.trim().split(/\s/)[0]))]
  if (missingLibraries.length > 0) throw new ClnMissing(`lightningd cannot run here: missing ${missingLibraries.join(', ')} (apt-get install ${CLN_RUNTIME_PACKAGES.join(' ')})`)
  return programs
}

/** A TCP port nobody listens on now (the node binds it for peers; nobody connects there). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const {port} = server.address() as {port: number}
  await new Promise((done) => server.close(done))
  return port
}

export interface ClnLayout {
  dataDir: string
  /** FAKE_BTC_DIR: the node's own chain (off the pool). */
  chainDir: string
  logFile: string
  port: number
}

/** A regtest chain for fake-bitcoin-cli, 100 blocks old, growing a block every 30 s (bcli's production poll). */
export function prepareChain(chainDir: string, now = Date.now()): void {
  mkdirSync(chainDir, {recursive: true})
  const state = join(chainDir, 'state.json')
  if (!existsSync(state)) writeFileSync(state, JSON.stringify({start: Math.floor(now / 1000) - 100 * 30, interval: 30}))
}

/**
 * The shell command that starts the node and returns once start-up is done (`--daemon`; its exit
 * code tells a failed start). setsid and redirected output: the daemon would keep the caller's open.
 */
export function clnStartCommand(programs: ClnPrograms, layout: ClnLayout): string {
  return [
    `FAKE_BTC_DIR=${commandLine([layout.chainDir])}`,
    commandLine([
      'setsid',
      programs.lightningd,
      `--network=${CLN_NETWORK}`,
      `--lightning-dir=${layout.dataDir}`,
      `--bitcoin-cli=${programs.fakeBitcoinCli}`,
      `--bind-addr=127.0.0.1:${layout.port}`,
      `--log-file=${layout.logFile}`,
      '--daemon',
    ]),
    `</dev/null >>${commandLine([`${layout.logFile}.out`])} 2>&1`,
  ].join(' ')
}

/** One line of the acknowledgement log: an address `newaddr` handed out, i.e. a write the node committed. */
export interface Acknowledged {
  address: string
  /** Its key index (listaddresses), null when the node stopped before the lookup answered. */
  keyidx: number | null
  /** data_version read just after the answer: at least the version of this write. */
  dataVersion: number | null
  at: number
}

export function readAcknowledged(ackLog: string): Acknowledged[] {
  if (!existsSync(ackLog)) return []
  return readFileSync(ackLog, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Acknowledged)
}

/** The vars the checks read, through a read-only connection with a busy timeout (the node may be writing). */
export function readClnVars(database: string): {dataVersion: number; bip86MaxIndex: number; nodeId: string | null} {
  const db = new Database(database, {readonly: true, fileMustExist: true, timeout: 10_000})
  try {
    const rows = db.prepare("SELECT name, intval, blobval FROM vars WHERE name IN ('data_version', 'bip86_max_index', 'node_id')").all() as {name: string; intval: number | null; blobval: Buffer | null}[]
    const value = (name: string) => rows.find((row) => row.name === name)
    return {dataVersion: Number(value('data_version')?.intval ?? -1), bip86MaxIndex: Number(value('bip86_max_index')?.intval ?? -1), nodeId: value('node_id')?.blobval?.toString('hex') ?? null}
  } finally {
    db.close()
  }
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

/**
 * Every acknowledged address is still one the wallet derives (listaddresses, up to its
 * bip86_max_index), and data_version is not below any value seen after an acknowledged write.
 * Needs the node running (its socket answering).
 */
export async function checkAcknowledged(socket: string, database: string, ackLog: string): Promise<WriteCheck> {
  const acks = readAcknowledged(ackLog)
  const {addresses} = await rpcCall<{addresses: {keyidx: number; p2tr?: string}[]}>(socket, 'listaddresses', {}, 30_000)
  const known = new Map(addresses.map((entry) => [entry.p2tr, entry.keyidx]))
  const vars = readClnVars(database)
  const lost = acks.filter((ack) => !known.has(ack.address) || (ack.keyidx !== null && known.get(ack.address) !== ack.keyidx) || (ack.keyidx ?? 0) > vars.bip86MaxIndex).map((ack) => ack.address)
  const highestAcknowledgedDataVersion = Math.max(-1, ...acks.map((ack) => ack.dataVersion ?? -1))
  let longestGapMs = 0
  for (let index = 1; index < acks.length; index++) longestGapMs = Math.max(longestGapMs, acks[index].at - acks[index - 1].at)
  return {acknowledged: acks.length, lost, dataVersion: vars.dataVersion, highestAcknowledgedDataVersion, bip86MaxIndex: vars.bip86MaxIndex, longestGapMs}
}
