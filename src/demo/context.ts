import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {nodeAdapter, type NodeAdapter, type NodeSettings} from '../node/adapter.js'
import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'
import {CLN_NETWORK, clnStartCommand, freePort, prepareChain, unpackCln, type ClnPrograms} from './cln.js'
import {Inbox} from './inbox.js'

export interface DemoStep {
  id: string
  title: string
  result: 'passed' | 'failed' | 'skipped'
  /** What the step saw: the proof that it worked, or why it failed. */
  detail: string[]
  seconds: number
}

export interface DemoReport {
  sandbox: string
  zfs: string | null
  /** The node the demo ran: the real lightningd when it is at hand here, else the stand-in. */
  node: 'lightningd' | 'stand-in'
  pool: string
  kept: boolean
  steps: DemoStep[]
  passed: boolean
}

export interface DemoOptions {
  /** argv that runs lnstore (node and bin/run.js). */
  lnstore: string[]
  keep: boolean
  /** Print lnstore's own output, and let replace-disk draw its live task list on this terminal. */
  show: boolean
  out: (line: string) => void
}

/** What every step of the demo works on: the sandbox, its pool and node, the inbox, and lnstore itself. */
export interface DemoContext {
  deps: Deps
  options: DemoOptions
  sandbox: string
  pool: string
  paths: {disks: string[]; dataDir: string; config: string; state: string; ackLog: string; nodeLog: string; olderCopy: string}
  /** The node's database on the pool. */
  database: string
  /** The disk that goes bad, its mirror, and the spare that replaces it. */
  bad: string
  good: string
  spare: string
  /** The shell command that starts the node (lightningd --daemon, or the stand-in in the background). */
  startNode: string
  /** The real lightningd's programs when it runs here; null: the stand-in runs, for `standInReason`. */
  cln: ClnPrograms | null
  /** Why the real node is not at hand (what is missing), when the stand-in runs. */
  standInReason: string | null
  /** The process asking the real node for new addresses (acknowledged writes), while it runs. */
  writer: ChildProcess | null
  nodeSettings: NodeSettings
  node: NodeAdapter
  inbox: Inbox
  report: DemoReport
  /** Stops what the demo started for ZFS (the zfs-fuse daemon); set once ZFS is found. */
  releaseZfs: () => Promise<void>
  /** The data_version of the older copy kept aside. */
  olderVersion: number
  say(line?: string): void
  /** Runs lnstore as a user would; prints the command and, unless `quiet`, its output as it came. */
  lnstore(args: string[], quiet?: boolean): Promise<LnstoreRun>
}

export interface LnstoreRun {
  exitCode: number | null
  stdout: string
  /** stdout and stderr interleaved as they were written: the plan, the task list, the result. */
  output: string
}

export class StepFailed extends Error {}

/** lnstore commands the demo is running, to stop them when it is interrupted. */
export const running = new Set<ChildProcess>()

const STANDIN = fileURLToPath(new URL('standin-node.js', import.meta.url))

/**
 * The real Core Lightning (src/demo/cln.ts) unpacked into the sandbox, or why it cannot run here;
 * then the demo runs the stand-in node and says why.
 */
function findRealNode(sandbox: string): {cln: ClnPrograms; standInReason: null} | {cln: null; standInReason: string} {
  try {
    return {cln: unpackCln(join(sandbox, 'cln')), standInReason: null}
  } catch (error) {
    return {cln: null, standInReason: (error as Error).message}
  }
}

export async function createDemo(deps: Deps, options: DemoOptions): Promise<DemoContext> {
  const sandbox = await mkdtemp(join(tmpdir(), 'lnstore-demo-'))
  const pool = `lnsdemo${process.pid}`
  const paths = {
    disks: ['disk-a', 'disk-b', 'disk-c'].map((name) => join(sandbox, 'disks', name)),
    dataDir: join(sandbox, 'lightning'),
    config: join(sandbox, 'lnstore.yaml'),
    state: join(sandbox, 'state'),
    ackLog: join(sandbox, 'node-acknowledged-writes.log'),
    nodeLog: join(sandbox, 'node.log'),
    olderCopy: join(sandbox, 'older-copy.sqlite3'),
  }
  const [bad, good, spare] = paths.disks
  const {cln, standInReason} = findRealNode(sandbox)
  let startNode: string
  if (cln) {
    const chainDir = join(sandbox, 'chain')
    prepareChain(chainDir)
    startNode = clnStartCommand(cln, {dataDir: paths.dataDir, chainDir, logFile: paths.nodeLog, port: await freePort()})
  } else {
    startNode = `nohup ${commandLine([process.execPath, STANDIN, '--data-dir', paths.dataDir, '--ack-log', paths.ackLog])} >>${paths.nodeLog} 2>&1 </dev/null &`
  }

  const network = cln ? CLN_NETWORK : 'bitcoin'
  const nodeSettings: NodeSettings = {kind: 'rpc', network, unit: 'lightningd', startCommand: startNode, dataDir: paths.dataDir}
  const say = (line = '') => options.out(line)
  return {
    deps,
    options,
    sandbox,
    pool,
    paths,
    database: join(paths.dataDir, network, 'lightningd.sqlite3'),
    bad,
    good,
    spare,
    startNode,
    cln,
    standInReason,
    writer: null,
    nodeSettings,
    node: nodeAdapter(deps, nodeSettings),
    inbox: new Inbox({authOptional: true, disabledCommands: ['STARTTLS']}),
    report: {sandbox, zfs: null, node: cln ? 'lightningd' : 'stand-in', pool, kept: options.keep, steps: [], passed: false},
    releaseZfs: async () => {},
    olderVersion: 0,
    say,
    async lnstore(args, quiet = false) {
      if (options.show) say(`  $ lnstore ${commandLine(args)}`)
      const result = await runInOrder([...options.lnstore, ...args, '--config', paths.config])
      if (options.show && result.output.trim() && !quiet) say(indent(result.output))
      return result
    },
  }
}

export const indent = (text: string) => text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n')

export function expectExit(result: LnstoreRun, codes: number[], what: string): void {
  if (!codes.includes(result.exitCode ?? -1)) throw new StepFailed(`${what} exited with ${result.exitCode} (expected ${codes.join(' or ')}): ${result.output.trim().split('\n').slice(-3).join(' ')}`)
}

/**
 * Runs a command to its end, keeping its standard output and both streams in the order they came.
 * Its own spawn, not the runner's: the demo shows lnstore's output interleaved as it was written
 * (the runner keeps the streams apart), and stops these runs when it is interrupted (`running`).
 */
function runInOrder(argv: string[]): Promise<LnstoreRun> {
  const child = spawn(argv[0], argv.slice(1), {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  running.add(child)
  child.on('close', () => running.delete(child))
  let stdout = ''
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk
    output += chunk
  })
  child.stderr.on('data', (chunk: Buffer) => (output += chunk))
  return new Promise((resolve) => child.on('close', (exitCode) => resolve({exitCode, stdout, output})))
}
