import {expect} from 'chai'
import {mkdtempSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {nodeSettings} from '../../src/node/adapter.js'
import {rpcCall, RpcError} from '../../src/node/rpc.js'

describe('node adapter', () => {
  it('takes the node settings from the config, with flags over them', () => {
    const {node} = validateConfig({node: {kind: 'docker', container: 'cln'}}, 'test')
    expect(nodeSettings(node, '/srv/ln', {network: 'signet', container: undefined})).to.deep.equal({kind: 'docker', network: 'signet', unit: 'lightningd', container: 'cln', dataDir: '/srv/ln'})
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
