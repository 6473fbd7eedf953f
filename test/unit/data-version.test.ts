import Database from 'better-sqlite3'
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {readDatabase} from '../../src/node/data-version.js'

// A writer killed in the middle of a transaction, after SQLite spilled changed pages into the file:
// what a node killed by a power cut (or a ChironFS replica disabled mid-write) leaves behind.
const KILLED_WRITER = `
const Database = require('better-sqlite3')
const db = new Database(process.argv.at(-1))
db.pragma('cache_size = 1')
db.exec('BEGIN')
db.prepare("UPDATE vars SET intval = 99 WHERE name = 'data_version'").run()
db.exec('CREATE TABLE filler (x); INSERT INTO filler SELECT randomblob(4000) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300) SELECT n FROM c)')
process.kill(process.pid, 'SIGKILL')
`

describe('reading the node database', () => {
  it('reads a database left mid-transaction (a hot journal) as SQLite will: the last commit, the file untouched', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lnstore-hot-')), 'lightningd.sqlite3')
    const setup = new Database(path)
    setup.exec("CREATE TABLE vars (name TEXT PRIMARY KEY, val TEXT, intval INTEGER); INSERT INTO vars VALUES ('data_version', NULL, 7)")
    setup.close()
    spawnSync(process.execPath, ['-e', KILLED_WRITER, path])
    expect(existsSync(`${path}-journal`), 'a hot journal was left').to.equal(true)
    const before = [readFileSync(path), readFileSync(`${path}-journal`)]
    expect(() => new Database(path, {readonly: true}).prepare('SELECT 1 FROM vars').get(), 'a read-only open cannot roll it back').to.throw(/readonly/)

    const reading = await readDatabase(path)
    expect(reading).to.deep.include({path, dataVersion: 7, check: 'ok'})
    expect([readFileSync(path), readFileSync(`${path}-journal`)]).to.deep.equal(before)
  })
})
