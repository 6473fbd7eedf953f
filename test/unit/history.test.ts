import {expect} from 'chai'
import {mkdtempSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {EMPTY_HISTORY, HistoryStore, recordReport} from '../../src/state/history.js'
import {parseStatus} from '../../src/zfs/status-json.js'
import {fixture} from '../support/fixtures.js'

const DAY = 86_400_000
const report = (name: string) => parseStatus(fixture(name))

describe('error history', () => {
  it('adds a sample only when counters change, keeping when they were last seen unchanged', () => {
    let history = recordReport(EMPTY_HISTORY, report('openzfs-2.3.2/002-mirror-healthy.txt'), 1000, 35)
    history = recordReport(history, report('openzfs-2.3.2/002-mirror-healthy.txt'), 2000, 35)
    history = recordReport(history, report('openzfs-2.3.2/013-scrub-repaired-cksum.txt'), 3000, 35)
    expect(history.devices['name:tank/vdb'].samples).to.deep.equal([
      {t: 1000, seen: 2000, read: 0, write: 0, cksum: 0},
      {t: 3000, seen: 3000, read: 0, write: 0, cksum: 75},
    ])
    expect(history.devices['name:tank/vdc'].samples).to.have.length(1)
    expect(history.scrubs.tank.endedAt).to.be.a('number')
  })

  it('keys devices by GUID when the output has them, so a renamed disk keeps its past', () => {
    const history = recordReport(EMPTY_HISTORY, report('openzfs-2.3.2/006-mirror-healthy-j.json'), 1000, 35)
    expect(Object.keys(history.devices)).to.deep.equal(['guid:14401034150560727910', 'guid:18041532485074462446'])
  })

  it('prunes samples past the retention, keeping one baseline', () => {
    let history = recordReport(EMPTY_HISTORY, report('openzfs-2.3.2/002-mirror-healthy.txt'), 0, 35)
    history = recordReport(history, report('openzfs-2.3.2/013-scrub-repaired-cksum.txt'), 10 * DAY, 35)
    history = recordReport(history, report('openzfs-2.3.2/002-mirror-healthy.txt'), 50 * DAY, 35)
    expect(history.devices['name:tank/vdb'].samples.map((sample) => sample.t)).to.deep.equal([10 * DAY, 50 * DAY])
  })

  it('recovers from a crash: a stale lock of a dead process and a half-written temp file', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-history-'))
    const store = new HistoryStore(stateDir)
    await store.record(report('openzfs-2.3.2/002-mirror-healthy.txt'), 1000, 35)
    writeFileSync(join(stateDir, 'history.json.lock'), '999999999')
    writeFileSync(join(stateDir, 'history.json.tmp-999999999-dead'), '{"version":1,"devi')
    const history = await store.record(report('openzfs-2.3.2/013-scrub-repaired-cksum.txt'), 2000, 35)
    expect(history.devices['name:tank/vdb'].samples).to.have.length(2)
  })

  it('takes over an empty lock file left by a holder killed while taking it, once it is old', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-history-'))
    const lockFile = join(stateDir, 'history.json.lock')
    writeFileSync(lockFile, '')
    const old = new Date(Date.now() - 60_000)
    utimesSync(lockFile, old, old)
    const history = await new HistoryStore(stateDir).record(report('openzfs-2.3.2/002-mirror-healthy.txt'), 1000, 35)
    expect(Object.keys(history.devices)).to.have.length(2)
  })

  it('moves a damaged file aside and starts afresh', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-history-'))
    writeFileSync(join(stateDir, 'history.json'), '{"version":1,"devi')
    const store = new HistoryStore(stateDir)
    const history = await store.record(report('openzfs-2.3.2/002-mirror-healthy.txt'), 1000, 35)
    expect(store.recoveredFrom).to.equal(join(stateDir, 'history.json.corrupt-1000'))
    expect(readFileSync(store.recoveredFrom!, 'utf8')).to.equal('{"version":1,"devi')
    expect(Object.keys(history.devices)).to.have.length(2)
  })
})
