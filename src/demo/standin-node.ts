/**
 * A stand-in for lightningd, for `lnstore demo` and the tests, run as its own process
 * (`node dist/demo/standin-node.js ...`, or this file through tsx): the
 * JSON-RPC subset replace-disk uses (getinfo, listpeerchannels, stop) on `<dataDir>/<network>/lightning-rpc`,
 * its pid file, and a real SQLite database whose `vars.data_version` grows with every write, written
 * continuously. Each committed write is appended to an acknowledgement log kept off the pool, so a
 * test can check that every write the node acknowledged survived.
 *
 * Options: --data-dir DIR --ack-log FILE [--network bitcoin] [--rpc-file PATH] [--ignore-stop] [--stop-delay-ms N]
 *          [--htlc-expiry-blocks N] [--interval-ms 20] [--payload-bytes 0]
 * --payload-bytes writes a blob of that size with each write, as lightningd's channel updates
 * touch several pages: a longer transaction, a journal that exists longer.
 */
import Database from 'better-sqlite3'
import {appendFileSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

const {values} = parseArgs({
  options: {
    'data-dir': {type: 'string'},
    'ack-log': {type: 'string'},
    network: {type: 'string', default: 'bitcoin'},
    // lightningd's rpc-file: a socket outside the data directory (ChironFS cannot hold one).
    'rpc-file': {type: 'string'},
    'ignore-stop': {type: 'boolean', default: false},
    'stop-delay-ms': {type: 'string', default: '0'},
    'htlc-expiry-blocks': {type: 'string'},
    'interval-ms': {type: 'string', default: '20'},
    'payload-bytes': {type: 'string', default: '0'},
  },
})
const dataDir = values['data-dir']!
const ackLog = values['ack-log']!
const network = values.network!
const BLOCKHEIGHT = 850_000

const networkDir = join(dataDir, network)
mkdirSync(networkDir, {recursive: true})
const socketPath = values['rpc-file'] ?? join(networkDir, 'lightning-rpc')
const pidPath = join(dataDir, `lightningd-${network}.pid`)

const db = new Database(join(networkDir, 'lightningd.sqlite3'))
db.exec(`CREATE TABLE IF NOT EXISTS vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER);
         INSERT OR IGNORE INTO vars VALUES ('data_version', NULL, 0);
         CREATE TABLE IF NOT EXISTS writes (version INTEGER PRIMARY KEY, at INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS payloads (slot INTEGER PRIMARY KEY, state BLOB);`)
const payload = Number(values['payload-bytes'])
const write = db.transaction(() => {
  db.prepare("UPDATE vars SET intval = intval + 1 WHERE name = 'data_version'").run()
  const {intval} = db.prepare("SELECT intval FROM vars WHERE name = 'data_version'").get() as {intval: number}
  db.prepare('INSERT INTO writes VALUES (?, ?)').run(intval, Date.now())
  if (payload > 0) db.prepare('INSERT OR REPLACE INTO payloads VALUES (?, ?)').run(intval % 16, Buffer.alloc(payload, intval % 256))
  return intval
})
const writer = setInterval(() => {
  const version = write()
  // Acknowledged only once committed, as lightningd answers only after its transaction.
  appendFileSync(ackLog, `${version}\n`)
}, Number(values['interval-ms']))

let stopping = false
function shutdown(): void {
  if (stopping) return
  stopping = true
  // The timer runs one whole transaction at a time: stopping it leaves no transaction open.
  clearInterval(writer)
  setTimeout(() => {
    db.close()
    server.close()
    rmSync(socketPath, {force: true})
    rmSync(pidPath, {force: true})
    process.exit(0)
  }, Number(values['stop-delay-ms']))
}

const answers: Record<string, () => unknown> = {
  getinfo: () => ({id: `02${'ab'.repeat(32)}`, alias: 'STANDIN', blockheight: BLOCKHEIGHT, network}),
  listpeerchannels: () => ({
    channels: [
      {
        peer_id: `03${'cd'.repeat(32)}`,
        short_channel_id: '849000x1x0',
        state: 'CHANNELD_NORMAL',
        htlcs: values['htlc-expiry-blocks'] === undefined ? [] : [{direction: 'out', id: 0, amount_msat: 1_000_000, expiry: BLOCKHEIGHT + Number(values['htlc-expiry-blocks']), state: 'SENT_ADD_ACK_REVOCATION'}],
      },
    ],
  }),
  stop: () => 'Shutdown complete',
}

function serve(connection: Socket): void {
  let buffer = ''
  connection.on('error', () => {})
  connection.on('data', (chunk) => {
    buffer += chunk.toString('utf8')
    let request: {id: unknown; method: string}
    try {
      request = JSON.parse(buffer)
    } catch {
      return
    }

    buffer = ''
    const answer = answers[request.method]
    const reply = answer ? {jsonrpc: '2.0', id: request.id, result: answer()} : {jsonrpc: '2.0', id: request.id, error: {code: -32_601, message: `Unknown command '${request.method}'`}}
    connection.end(`${JSON.stringify(reply)}\n\n`)
    if (request.method === 'stop' && !values['ignore-stop']) shutdown()
  })
}

rmSync(socketPath, {force: true})
const server = createServer(serve).listen(socketPath, () => writeFileSync(pidPath, `${process.pid}\n`))
process.on('SIGTERM', shutdown)
