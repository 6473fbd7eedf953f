import {expect} from 'chai'

import {validateConfig} from '../../src/config/schema.js'
import {checkStatus} from '../../src/status/check-status.js'
import {renderPrometheus} from '../../src/status/prometheus.js'
import {renderStatus} from '../../src/status/render.js'
import type {Deps} from '../../src/system/deps.js'
import {fixture} from '../support/fixtures.js'

const NOW = new Date(2026, 10, 26, 12, 0, 0).getTime()
const deps: Deps = {
  runner: {run: () => Promise.reject(new Error('no zpool in this test'))},
  readFile: () => Promise.reject(new Error('no files in this test')),
  now: () => NOW,
  mail: {create: () => Promise.reject(new Error('no mail in this test'))},
}

const statusOf = (name: string) =>
  checkStatus(deps, {config: validateConfig({}, 'test'), stateDir: '/nonexistent', pools: [], input: {name, read: async () => fixture(name)}})

describe('status output', () => {
  it('shows the tree with the failing device marked, its reasons and next commands', async () => {
    const text = renderStatus(await statusOf('openzfs-2.3.2/017-degraded-offline.txt'), {color: false, now: NOW})
    // The first line as Nagios plugins print it: verdict, the reason, then performance data.
    expect(text.split('\n')[0]).to.equal("CRITICAL: tank: mirror-0 has no redundant copy left (vdc missing) | 'tank_device_errors'=75;;;0 'tank_data_errors'=0;;;0")
    expect(text).to.contain('pool tank  DEGRADED  CRITICAL  (last scrub 1d 15h ago, repaired 5.8M)')
    expect(text).to.match(/\n {6}vdb\s+ONLINE\s+0\s+0\s+75 {2}WARNING\n/)
    expect(text).to.match(/\n {6}vdc\s+OFFLINE\s+0\s+0\s+0 {2}WARNING\n/)
    expect(text).to.contain('CRITICAL mirror-0 has no redundant copy left (vdc missing): one more failure loses data')
    expect(text).to.contain('next: zpool online tank vdc')
    expect(text).not.to.contain('\u001B[')
  })

  it('colours verdicts only when asked', async () => {
    const text = renderStatus(await statusOf('openzfs-2.3.2/017-degraded-offline.txt'), {color: true, now: NOW})
    expect(text).to.contain('\u001B[31mCRITICAL\u001B[0m')
  })

  it('writes node_exporter metrics', async () => {
    const metrics = renderPrometheus(await statusOf('openzfs-2.3.2/013-scrub-repaired-cksum.txt'))
    expect(metrics).to.contain('# TYPE lnstore_verdict gauge\nlnstore_verdict{verdict="ok"} 0\nlnstore_verdict{verdict="warning"} 1\n')
    expect(metrics).to.contain('lnstore_check_success 1\n')
    expect(metrics).to.contain('lnstore_device_errors{zpool="tank",device="vdb",type="checksum"} 75')
    expect(metrics).to.contain('lnstore_pool_state{zpool="tank",state="online"} 1\n')
    expect(metrics).to.match(/^lnstore_pool_last_scrub_timestamp_seconds\{zpool="tank"\} \d+$/m)
    expect(metrics).to.match(/^lnstore_pool_last_scrub_duration_seconds\{zpool="tank"\} \d+$/m)
    expect(metrics).to.match(/^lnstore_pool_last_scrub_repaired_bytes\{zpool="tank"\} [1-9]\d*$/m)
    expect(metrics).not.to.match(/\{pool=/)
  })

  it('judges saved input without touching zpool or the history, and refuses a pool it does not have', async () => {
    const result = await statusOf('zfs-fuse-0.7.0/degraded-offline.txt')
    expect(result.source).to.deep.equal({from: 'input', dialect: 'text', input: 'zfs-fuse-0.7.0/degraded-offline.txt'})
    const missing = checkStatus(deps, {
      config: validateConfig({}, 'test'),
      stateDir: '/nonexistent',
      pools: ['tank'],
      input: {name: 'x', read: async () => fixture('zfs-fuse-0.7.0/degraded-offline.txt')},
    })
    await missing.then(
      () => expect.fail('should refuse'),
      (error: Error) => expect(error.message).to.equal('no pool named tank in the input (it has: fz)'),
    )
  })
})
