import Database from 'better-sqlite3'
import {expect} from 'chai'
import {existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {checkStatus} from '../../src/status/check-status.js'
import type {Deps} from '../../src/system/deps.js'
import {fixture} from '../support/fixtures.js'
import {StubRunner} from '../support/stub-runner.js'

/** `lnstore status` against zpool's answers (a stub) and a real data directory. */
describe('status of the pool the node lives on', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lnstore-check-status-'))))
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it("reads none of the node's files on a SUSPENDED pool (a read there blocks in the kernel, the hung node holds SQLite's lock): the pool's CRITICAL says it", async () => {
    const dataDir = join(dir, 'lightning')
    mkdirSync(join(dataDir, 'regtest'), {recursive: true})
    const database = new Database(join(dataDir, 'regtest', 'lightningd.sqlite3'))
    database.exec("CREATE TABLE vars (name VARCHAR(32), val VARCHAR(255), intval INTEGER, blobval BLOB, PRIMARY KEY (name)); INSERT INTO vars (name, intval) VALUES ('data_version', 5);")
    database.close()
    const runner = new StubRunner()
      .expect(['zpool', 'status', '-j', '--json-int', 'dozer'], {exitCode: 2, stderr: "invalid option 'j'"})
      .expect(['zpool', 'list', '-Hp', '-o', 'name,size,allocated,free,capacity,health', 'dozer'], {stdout: 'dozer\t1073741824\t536870912\t536870912\t50\tUNAVAIL\n'})
      .expect(['zpool', 'status', '-p', 'dozer'], {stdout: fixture('public/openzfs-0.7-dev-unavail-suspended-scrub.txt')})
      .expect(['zpool', 'status', '-g', 'dozer'], {exitCode: 2, stderr: "invalid option 'g'"})
      .expect(['zpool', 'status', '-v', 'dozer'], {stdout: fixture('public/openzfs-0.7-dev-unavail-suspended-scrub.txt')})
    const deps: Deps = {
      runner,
      readFile: async (path) => (path === '/proc/self/mountinfo' ? `40 1 0:45 / ${dataDir} rw,relatime shared:1 - zfs dozer/lightning rw,xattr,posixacl\n` : Promise.reject(new Error(`no ${path} here`))),
      now: () => Date.now(),
      mail: {create: () => Promise.reject(new Error('no mail in this test'))},
    }
    const config = validateConfig({pools: ['dozer'], dataDir, dataset: 'dozer/lightning'}, 'test')
    const result = await checkStatus(deps, {config, stateDir: join(dir, 'state'), pools: []})
    expect(result.verdict).to.equal('CRITICAL')
    expect(result.pools[0].findings.map((finding) => finding.message).join('\n')).to.match(/pool is SUSPENDED/)
    expect(result.findings).to.deep.equal([])
    // Had status read the database, it would have recorded its data_version.
    expect(existsSync(join(dir, 'state', 'freshness.json')), 'status read the node database on a suspended pool').to.equal(false)
  })
})
