import {expect} from 'chai'
import {mkdtempSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {nodeAdapter, nodeSettings} from '../../src/node/adapter.js'
import {rpcCall, RpcError} from '../../src/node/rpc.js'
import {systemDeps} from '../../src/system/deps.js'
import {unitGaveUp} from '../../src/system/systemd.js'
import {StubRunner} from '../support/stub-runner.js'

describe('node adapter', () => {
  it('takes the node settings from the config, with flags over them', () => {
    const {node} = validateConfig({node: {kind: 'docker', container: 'cln'}}, 'test')
    expect(nodeSettings(node, '/srv/ln', {network: 'signet', container: undefined})).to.deep.equal({kind: 'docker', network: 'signet', unit: 'lightningd', container: 'cln', dataDir: '/srv/ln'})
  })
})

describe('the node as a systemd unit', () => {
  const SHOW = ['systemctl', 'show', '--property=ActiveState,Result,ExecMainCode,ExecMainStatus', '--', 'lightningd']
  const show = (stdout: string) => ({...systemDeps, runner: new StubRunner().expect(SHOW, {stdout}, {timeoutMs: 30_000})})

  it('says why a unit gave up (failed, or inactive again), and nothing while it starts, runs or waits for its restart', async () => {
    expect(await unitGaveUp(show('ActiveState=failed\nResult=signal\nExecMainCode=2\nExecMainStatus=11\n'), 'lightningd')).to.equal('lightningd.service is failed (result: signal; its process was killed by SIGSEGV (signal 11))')
    expect(await unitGaveUp(show('ActiveState=inactive\nResult=success\nExecMainCode=1\nExecMainStatus=0\n'), 'lightningd')).to.equal('lightningd.service is inactive (its process exited with status 0)')
    for (const state of ['active', 'activating', 'deactivating']) expect(await unitGaveUp(show(`ActiveState=${state}\nResult=success\nExecMainCode=0\nExecMainStatus=0\n`), 'lightningd')).to.equal(null)
  })

  it('the wait for getinfo ends as soon as the unit has failed, naming why and where to read more', async () => {
    let now = 0
    // Each look at the clock is a second later: the unit is asked about at the second poll.
    const deps = {...show('ActiveState=failed\nResult=core-dump\nExecMainCode=3\nExecMainStatus=6\n'), now: () => (now += 1000)}
    const node = nodeAdapter(deps, {kind: 'systemd', unit: 'lightningd', network: 'regtest', dataDir: join(mkdtempSync(join(tmpdir(), 'lnstore-unit-')), 'no-node')})
    const error = (await node.waitUntilAnswering(300_000).catch((caught: unknown) => caught)) as Error
    expect(error.message).to.match(/^lightningd\.service is failed \(result: core-dump; its process was killed by SIGABRT \(signal 6\)\), \d+ s into the wait for getinfo: it will not answer; journalctl -u lightningd says why$/)
  })
})

describe('JSON-RPC over the unix socket', () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'lnstore-rpc-')), 'lightning-rpc')
  let server: Server

  before(async () => {
    // Answers in two chunks, as a large answer arrives: the client must wait for the whole object.
    server = createServer((connection) =>
      connection.on('data', (data) => {
        const {id, method} = JSON.parse(data.toString())
        const answer = JSON.stringify(method === 'getinfo' ? {jsonrpc: '2.0', id, result: {id: '02ab', blockheight: 7}} : {jsonrpc: '2.0', id, error: {code: -32_601, message: `Unknown command '${method}'`}})
        connection.write(answer.slice(0, 10))
        setTimeout(() => connection.end(`${answer.slice(10)}\n\n`), 20)
      }),
    )
    await new Promise<void>((resolve) => server.listen(socket, resolve))
  })

  after(() => server.close())

  it('returns the result of a call', async () => {
    expect(await rpcCall(socket, 'getinfo')).to.deep.equal({id: '02ab', blockheight: 7})
  })

  it('turns an error answer and a missing socket into RpcError', async () => {
    const unknown = await rpcCall(socket, 'nosuch').catch((error: unknown) => error)
    expect(unknown).to.be.instanceOf(RpcError).and.have.property('message', "nosuch: Unknown command 'nosuch'")
    const missing = await rpcCall(`${socket}-gone`, 'getinfo').catch((error: unknown) => error)
    expect(missing).to.be.instanceOf(RpcError).and.have.property('code', 'ENOENT')
  })
})
