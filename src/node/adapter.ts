import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {NodeConfig} from '../config/schema.js'
import {processesUsing} from '../init/processes.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {unitGaveUp} from '../system/systemd.js'
import {rpcCall} from './rpc.js'

/** How lnstore stops and starts the node (the config's `node:` section, flags over it) and where its data is. */
export type NodeSettings = Omit<NodeConfig, 'stopTimeoutSeconds' | 'startTimeoutSeconds'> & {dataDir: string}

/** The settings from the config's `node:` section, with what flags override (undefined: not given). */
export function nodeSettings(config: NodeConfig, dataDir: string, overrides: Partial<Omit<NodeSettings, 'dataDir'>>): NodeSettings {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined))
  const {stopTimeoutSeconds: _stop, startTimeoutSeconds: _start, ...settings} = config
  return {...settings, dataDir, ...given}
}

export interface NodeInfo {
  id: string
  alias?: string
  blockheight: number
}

export interface PeerChannels {
  channels: {peer_id?: string; short_channel_id?: string; state?: string; htlcs?: {direction?: string; expiry: number; amount_msat?: number}[]}[]
}

export interface NodeAdapter {
  /** The commands stop and start run, for the plan. */
  readonly stopCommands: string[][]
  readonly startCommands: string[][]
  isRunning(): Promise<boolean>
  /** Asks the node to stop, then waits until its process has exited; throws when it has not within the timeout. */
  stop(timeoutMs: number): Promise<void>
  start(): Promise<void>
  /** Waits until the JSON-RPC socket answers getinfo. */
  waitUntilAnswering(timeoutMs: number): Promise<NodeInfo>
  call<T>(method: string, params?: Record<string, unknown>): Promise<T>
}

const POLL_MS = 200
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function rpcSocket(settings: NodeSettings): string {
  return settings.rpcFile ?? join(settings.dataDir, settings.network, 'lightning-rpc')
}

export function pidFile(settings: NodeSettings): string {
  return join(settings.dataDir, `lightningd-${settings.network}.pid`)
}

/** The adapter for these settings. */
export function nodeAdapter(deps: Deps, settings: NodeSettings): NodeAdapter {
  const socket = rpcSocket(settings)
  const shell = (command: string | undefined, key: string) => {
    if (!command) throw new Error(`node.${key} is not set: lnstore does not know how to ${key === 'startCommand' ? 'start' : 'stop'} the node (set it in the config, or use --node-${key === 'startCommand' ? 'start' : 'stop'}-command)`)
    return ['sh', '-c', command]
  }

  const commands: Record<NodeSettings['kind'], {stop: () => string[] | 'rpc'; start: () => string[]}> = {
    rpc: {stop: () => 'rpc', start: () => shell(settings.startCommand, 'startCommand')},
    systemd: {stop: () => ['systemctl', 'stop', settings.unit], start: () => ['systemctl', 'start', settings.unit]},
    docker: {stop: () => ['docker', 'stop', settings.container ?? 'lightningd'], start: () => ['docker', 'start', settings.container ?? 'lightningd']},
    commands: {stop: () => shell(settings.stopCommand, 'stopCommand'), start: () => shell(settings.startCommand, 'startCommand')},
  }
  const describe = (make: () => string[] | 'rpc', what: string) => {
    try {
      const argv = make()
      return [argv === 'rpc' ? ['lightning-cli', `--lightning-dir=${settings.dataDir}`, `--network=${settings.network}`, 'stop'] : argv]
    } catch {
      return [[`(${what} command not configured)`]]
    }
  }

  const adapter: NodeAdapter = {
    stopCommands: describe(commands[settings.kind].stop, 'stop'),
    startCommands: describe(commands[settings.kind].start, 'start'),
    isRunning: () => lightningdRunning(settings),
    call: (method, params) => rpcCall(socket, method, params),
    async stop(timeoutMs) {
      if (!(await adapter.isRunning())) return
      // The process seen now is waited for by its pid: a node removes its pid file before its
      // process has exited, and "no pid file" alone would end the wait too early.
      const pid = await pidInFile(settings)
      const stop = commands[settings.kind].stop()
      // A node that exits while answering `stop` may drop the connection: only the process table tells.
      if (stop === 'rpc') await rpcCall(socket, 'stop').catch(() => {})
      else await runChecked(deps.runner, stop, {timeoutMs})
      const deadline = deps.now() + timeoutMs
      while ((pid !== null && (await alive(pid))) || (await adapter.isRunning())) {
        if (deps.now() >= deadline) throw new Error(`the node is still running ${timeoutMs / 1000} s after it was asked to stop`)
        await sleep(POLL_MS)
      }
    },
    async start() {
      if (await adapter.isRunning()) return
      await runChecked(deps.runner, commands[settings.kind].start(), {timeoutMs: 120_000})
    },
    async waitUntilAnswering(timeoutMs) {
      const started = deps.now()
      const deadline = started + timeoutMs
      let unitLookedAt = started
      for (;;) {
        try {
          return await rpcCall<NodeInfo>(socket, 'getinfo', {}, Math.max(1000, deadline - deps.now()))
        } catch (error) {
          if (deps.now() >= deadline) throw new Error(`the node did not answer getinfo on ${socket} within ${timeoutMs / 1000} s: ${(error as Error).message}`)
          // A unit that failed will never answer: say so now, not when the wait runs out (the node
          // crashed 9 s after its start in a journey, and lnstore waited 300 s to say "no answer").
          if (settings.kind === 'systemd' && deps.now() - unitLookedAt >= UNIT_LOOK_MS) {
            unitLookedAt = deps.now()
            const gaveUp = await unitGaveUp(deps, settings.unit)
            if (gaveUp) throw new Error(`${gaveUp}, ${Math.round((deps.now() - started) / 1000)} s into the wait for getinfo: it will not answer; journalctl -u ${settings.unit} says why`)
          }

          await sleep(POLL_MS)
        }
      }
    },
  }
  return adapter
}

/** How often the wait for getinfo asks systemd about the node's unit (a `systemctl` run each time). */
const UNIT_LOOK_MS = 2000

/**
 * Whether a lightningd process uses this data directory: the pid in its pid file is alive, or a
 * process named lightningd has files open there (a node started without a pid file).
 */
async function lightningdRunning(settings: NodeSettings): Promise<boolean> {
  const pid = await pidInFile(settings)
  if (pid !== null && (await alive(pid))) return true
  return (await processesUsing(settings.dataDir)).some((process) => process.command === 'lightningd')
}

async function pidInFile(settings: NodeSettings): Promise<number | null> {
  const pid = Number((await readFile(pidFile(settings), 'utf8').catch(() => '')).trim())
  return Number.isInteger(pid) && pid > 0 ? pid : null
}

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: it exists, owned by another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }

  // A zombie has exited (its files are closed) and only waits for its parent to notice.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return !/^\d+ \(.*\) Z/.test(stat)
}
