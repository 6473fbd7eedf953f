/**
 * The real node's writer, run as its own process (by the demo, and by the tests' ClnNode.startWriter:
 * off their event loop, so that it goes on while they wait for lnstore): `newaddr` in a loop;
 * each answer (an acknowledged write) is appended to the ack log as one JSON line with its key
 * index (listaddresses) and the data_version read just after. While the node is down it keeps
 * trying. Usage: cln-writer.js SOCKET DATABASE ACK_LOG
 */
import Database from 'better-sqlite3'
import {appendFileSync} from 'node:fs'

import {rpcCall} from '../node/rpc.js'

const [socket, databasePath, ackLog] = process.argv.slice(2)
let stopping = false
process.on('SIGTERM', () => (stopping = true))
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

function dataVersion(): number | null {
  try {
    const database = new Database(databasePath, {readonly: true, fileMustExist: true, timeout: 5000})
    try {
      return Number((database.prepare("SELECT intval FROM vars WHERE name = 'data_version'").get() as {intval: number}).intval)
    } finally {
      database.close()
    }
  } catch {
    return null
  }
}

while (!stopping) {
  let answer: {p2tr?: string}
  try {
    answer = await rpcCall<{p2tr?: string}>(socket, 'newaddr', {addresstype: 'p2tr'}, 30_000)
  } catch {
    await sleep(100)
    continue
  }

  const address = answer?.p2tr
  if (typeof address !== 'string') {
    // No address handed out: not an acknowledged write. Said, so that a run shows what the node answered.
    process.stderr.write(`cln-writer: newaddr answered without an address: ${JSON.stringify(answer)}\n`)
    await sleep(100)
    continue
  }

  const at = Date.now()
  const keyidx = await rpcCall<{addresses: {keyidx: number}[]}>(socket, 'listaddresses', {address}, 30_000).then((answer) => answer.addresses[0]?.keyidx ?? null, () => null)
  appendFileSync(ackLog, `${JSON.stringify({address, keyidx, dataVersion: dataVersion(), at})}\n`)
  // A write every 50 ms or so: many acknowledged writes around each step, without flooding a 2-core machine.
  await sleep(50)
}
