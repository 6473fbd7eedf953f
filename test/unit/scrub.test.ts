import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {validateConfig} from '../../src/config/schema.js'
import {counterChanges, scrubPools} from '../../src/scrub/run-scrub.js'
import type {ScrubProgress} from '../../src/storage/view.js'
import {HistoryStore} from '../../src/state/history.js'
import type {Deps} from '../../src/system/deps.js'
import {parseStatus} from '../../src/zfs/status-json.js'
import {fixture} from '../support/fixtures.js'
import {StubRunner} from '../support/stub-runner.js'

// The fixture's finished scrub ended at 20:47:18 local time; the scrub starts a little before.
const STARTED = new Date(2026, 10, 24, 20, 46, 0).getTime()
const healthy = fixture('openzfs-2.3.2/002-mirror-healthy.txt')
const repaired = fixture('openzfs-2.3.2/013-scrub-repaired-cksum.txt')
const withScan = (scan: string) => healthy.replace(' state: ONLINE\n', ` state: ONLINE\n  scan: ${scan}\n`)
const running = withScan('scrub in progress since Tue Nov 24 20:46:00 2026\n\t1.20G / 2.00G scanned at 100M/s, 1.00G / 2.00G issued at 80M/s\n\t0B repaired, 50.00% done, 00:00:13 to go')
const usage = (option: string) => ({exitCode: 2, stderr: `invalid option '${option}'\nusage:\n\tstatus [-vx] [pool] ...\n`})

/** zpool as OpenZFS 2.1 answers (no JSON, so `-p` text, and no `-g` GUIDs): `before` the scrub, then, if it starts, each status after. */
function zpool(before: string, ...statuses: (string | {exitCode: number; stderr: string})[]): StubRunner {
  const runner = new StubRunner()
    .expect(['zpool', 'status', '-j', '--json-int', 'tank'], usage('j'))
    .expect(['zpool', 'status', '-p', 'tank'], {stdout: before})
    .expect(['zpool', 'status', '-g', 'tank'], usage('g'))
  if (statuses.length === 0) return runner
  runner.expect(['zpool', 'scrub', 'tank'], {})
  for (const status of statuses) runner.expect(['zpool', 'status', '-p', 'tank'], typeof status === 'string' ? {stdout: status} : status)
  return runner
}

function run(runner: StubRunner, stateDir = mkdtempSync(join(tmpdir(), 'lnstore-scrub-')), progress: ScrubProgress[] = []) {
  const deps = {runner, now: () => STARTED} as unknown as Deps
  return scrubPools(deps, {config: validateConfig({}, 'test'), stateDir, pools: ['tank'], wait: true, poll: {firstMs: 1, maxMs: 1}, log: () => {}, onProgress: (update) => progress.push(update)})
}

describe('scrub', () => {
  it('follows the scrub with its progress to the end, and records what it repaired on which device', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-scrub-'))
    const progress: ScrubProgress[] = []
    const runner = zpool(healthy, running, running, repaired)
    const [outcome] = await run(runner, stateDir, progress)
    runner.verify()
    expect(progress).to.deep.equal([
      {pool: 'tank', percent: 50, bytesPerSecond: 80 * 1024 ** 2, secondsToGo: 13},
      {pool: 'tank', percent: 50, bytesPerSecond: 80 * 1024 ** 2, secondsToGo: 13},
    ])
    expect(outcome).to.deep.include({pool: 'tank', state: 'finished', message: 'scrub of tank finished in 1s: repaired 5.8M, 0 errors; errors grew on vdb'})
    expect(outcome.run).to.deep.include({startedAt: STARTED, durationSeconds: 1, errors: 0, repairedBytes: 6_113_198, devices: [{name: 'vdb', read: 0, write: 0, cksum: 75}]})
    const history = await new HistoryStore(stateDir).read()
    expect(history.scrubLog).to.deep.equal([outcome.run])
    expect(history.scrubs.tank).to.deep.include({startedAt: STARTED, repairedBytes: 6_113_198})
  })

  it('never starts a scrub over a resilver, nor a second scrub', async () => {
    const resilvering = zpool(fixture('openzfs-2.3.2/019-resilver-replacing.txt'))
    const [resilver] = await run(resilvering)
    resilvering.verify()
    expect(resilver.state).to.equal('refused')
    expect(resilver.message).to.match(/^tank is resilvering \(resilver in progress, [\d.]+% done.*\): lnstore neither starts a scrub over a resilver .* nor cancels one/)

    const scrubbing = zpool(running)
    const [second] = await run(scrubbing)
    scrubbing.verify()
    expect(second).to.deep.include({state: 'refused', message: 'a scrub of tank is already running (scrub in progress, 50% done, 80.0M/s, 13s to go); lnstore does not start a second one. Follow it with `zpool status tank`'})
  })

  it('refuses while another lnstore follows a scrub of the pool (its lock), without touching zpool', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-scrub-'))
    writeFileSync(join(stateDir, 'scrub-tank.lock'), String(process.pid))
    const runner = new StubRunner()
    const [outcome] = await run(runner, stateDir)
    runner.verify()
    expect(outcome).to.deep.include({state: 'refused', message: 'another lnstore scrub is already following a scrub of tank; lnstore does not start a second one'})
  })

  it('says clearly when the pool is exported while it follows the scrub', async () => {
    const runner = zpool(healthy, running, {exitCode: 1, stderr: "cannot open 'tank': no such pool\n"})
    const [outcome] = await run(runner)
    runner.verify()
    expect(outcome.state).to.equal('pool-gone')
    expect(outcome.message).to.equal(
      "pool tank disappeared while lnstore followed its scrub (exported or destroyed?), so the scrub's result is unknown; once it is imported again (`zpool import tank`), scrub it again: lnstore scrub --pool tank --wait",
    )
  })

  it('stops following when asked, saying the scrub goes on in ZFS', async () => {
    const runner = zpool(healthy, running)
    const stopped = new AbortController()
    stopped.abort()
    const deps = {runner, now: () => STARTED} as unknown as Deps
    const [outcome] = await scrubPools(deps, {config: validateConfig({}, 'test'), stateDir: mkdtempSync(join(tmpdir(), 'lnstore-scrub-')), pools: ['tank'], wait: true, signal: stopped.signal, log: () => {}})
    runner.verify()
    expect(outcome).to.deep.equal({pool: 'tank', state: 'abandoned', message: 'stopped following the scrub of tank; it goes on in ZFS, and the next health check reads its result'})
  })

  it('counts counter growth per device, and a reset counter by its new value', () => {
    const before = parseStatus(repaired).pools[0]
    const after = parseStatus(repaired.replace(/ {4}75\n/, '    12\n').replace(/(vdc +ONLINE +0 +0) +0/, '$1     3')).pools[0]
    expect(counterChanges(before, after)).to.deep.equal([
      {name: 'vdb', read: 0, write: 0, cksum: 12},
      {name: 'vdc', read: 0, write: 0, cksum: 3},
    ])
    expect(counterChanges(before, before)).to.deep.equal([])
  })
})
