import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {nodeAdapter, type NodeSettings} from '../../src/node/adapter.js'
import {processStartTime} from '../../src/state/run-lock.js'
import {systemDeps} from '../../src/system/deps.js'
import {processRunner, type Runner} from '../../src/system/runner.js'

const STANDIN = fileURLToPath(new URL('../../src/demo/standin-node.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

/**
 * The node adapter of every kind against a running stand-in node: "stopped" means its process
 * has exited, not that the stop command returned; "started" means its socket answers getinfo.
 *
 * No systemd (as PID 1) or Docker engine runs on the test machines, so for those two kinds the
 * runner below plays the service manager the way they behave: `systemctl stop` / `docker stop`
 * send SIGTERM to the node's main process and, here, return before it has exited (as
 * `systemctl --no-block` or a timed-out `docker stop` do); `start` launches the node. Every other
 * command runs for real.
 */
// Stand-in: a node that ignores `stop`, and kinds (systemd, docker) whose service manager is played
// by the runner. The rpc and commands kinds around the real lightningd: real-node.test.ts.
describe('node adapter kinds around a stand-in lightningd', function () {
  const root = mkdtempSync(join(tmpdir(), 'lnstore-adapter-'))
  const pids: number[] = []
  let count = 0

  after(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }

    rmSync(root, {recursive: true, force: true})
  })

  function launch(dataDir: string, options: string[]): void {
    const child = spawn(process.execPath, ['--import', TSX, STANDIN, '--data-dir', dataDir, '--ack-log', join(dataDir, '..', 'acks.log'), ...options], {stdio: 'ignore', detached: true})
    child.unref()
    pids.push(child.pid!)
  }

  const pidOf = (dataDir: string) => Number(readFileSync(join(dataDir, 'lightningd-bitcoin.pid'), 'utf8'))

  /** Plays systemd or Docker for `systemctl`/`docker` stop and start; runs everything else for real. */
  function serviceManager(dataDir: string, options: string[], calls: string[][]): Runner {
    return {
      async run(argv, runOptions) {
        calls.push(argv)
        const [program, verb] = argv
        if (program !== 'systemctl' && program !== 'docker') return processRunner.run(argv, runOptions)
        if (verb === 'stop') process.kill(pidOf(dataDir), 'SIGTERM')
        else launch(dataDir, options)
        return {argv, exitCode: 0, stdout: '', stderr: ''}
      },
    }
  }

  async function running(kind: NodeSettings['kind'], options: string[] = [], settings: Partial<NodeSettings> = {}) {
    const dataDir = join(root, `node-${count++}`, '.lightning')
    const calls: string[][] = []
    const runner = serviceManager(dataDir, options, calls)
    const adapter = nodeAdapter({...systemDeps, runner}, {kind, network: 'bitcoin', unit: 'lightningd', container: 'cln', dataDir, ...settings})
    launch(dataDir, options)
    await adapter.waitUntilAnswering(20_000)
    return {adapter, calls, dataDir}
  }

  /**
   * Whether the process still runs. A zombie has exited: the stand-in is this process's child, and
   * Node reaps it only when its event loop gets to the SIGCHLD (kill(pid, 0) still succeeded on it
   * right after stop returned, under load).
   */
  const alive = (pid: number) => processStartTime(pid) !== null

  for (const [kind, stop, start] of [
    ['systemd', ['systemctl', 'stop', 'lightningd'], ['systemctl', 'start', 'lightningd']],
    ['docker', ['docker', 'stop', 'cln'], ['docker', 'start', 'cln']],
  ] as const) {
    it(`${kind}: stop waits until the process has exited, though the stop command returned at once; start waits for getinfo`, async () => {
      // The node takes a second to shut down after SIGTERM, as lightningd closes channels' state.
      const {adapter, calls, dataDir} = await running(kind, ['--stop-delay-ms', '1000'])
      const pid = pidOf(dataDir)
      expect(await adapter.isRunning()).to.equal(true)
      await adapter.stop(10_000)
      expect(alive(pid), 'the process has exited when stop returns').to.equal(false)
      expect(await adapter.isRunning()).to.equal(false)
      await adapter.start()
      const info = await adapter.waitUntilAnswering(20_000)
      expect(info.alias).to.equal('STANDIN')
      expect(await adapter.isRunning()).to.equal(true)
      expect(calls).to.deep.include.members([[...stop], [...start]])
      expect(adapter.stopCommands).to.deep.equal([[...stop]])
      expect(adapter.startCommands).to.deep.equal([[...start]])
    })
  }

  it('commands: runs the configured shell commands; a stop command that does nothing ends in a timeout that leaves the node running', async () => {
    const {adapter, dataDir} = await running('commands', [], {stopCommand: 'true', startCommand: 'true'})
    const error = await adapter.stop(1500).catch((caught: Error) => caught)
    expect(error).to.be.instanceOf(Error).and.have.property('message', 'the node is still running 1.5 s after it was asked to stop')
    expect(alive(pidOf(dataDir))).to.equal(true)
    expect(adapter.stopCommands).to.deep.equal([['sh', '-c', 'true']])
  })

  it('rpc: stops the node with the JSON-RPC stop command; a node that ignores it times out', async () => {
    const {adapter, dataDir} = await running('rpc', [], {startCommand: 'true'})
    const pid = pidOf(dataDir)
    await adapter.stop(10_000)
    expect(alive(pid)).to.equal(false)
    expect(existsSync(join(dataDir, 'bitcoin', 'lightning-rpc'))).to.equal(false)

    const stubborn = await running('rpc', ['--ignore-stop'], {startCommand: 'true'})
    const error = await stubborn.adapter.stop(1500).catch((caught: Error) => caught)
    expect(error).to.have.property('message').that.contains('still running')
    expect(await stubborn.adapter.isRunning()).to.equal(true)
  })
})
