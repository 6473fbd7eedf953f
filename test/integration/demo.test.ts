import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'

import {DEMO_STEPS} from '../../src/demo/steps.js'
import {BIN, lnstoreAsync} from '../support/cli.js'
import {WAIT_DEADLINE_MS, waitFor} from '../support/wait.js'
import {ensureZfs, sh} from '../support/zfs-sandbox.js'

const poolsNamed = (prefix: string) => sh('zpool', ['list', '-H', '-o', 'name']).split('\n').filter((name) => name.startsWith(prefix))

/** `lnstore demo` end to end, as a newcomer runs it: every step must pass, and nothing may be left behind. */
describe('lnstore demo (real zfs-fuse, the real lightningd, mail server inside)', function () {
  before(ensureZfs)

  it('runs the whole story around the real lightningd and reports every step passed, then removes its sandbox and pool', async function () {
    // Each step (and the clean-up) waits for something: the node to answer, its writes, a scrub, a mail, a resilver.
    // Each is given what a wait is given; a busy machine needs minutes where an idle one needs one.
    this.timeout((DEMO_STEPS.length + 1) * WAIT_DEADLINE_MS)
    // Not spawnSync: a blocked event loop would hold mocha's timeout off until the demo ended.
    const run = await lnstoreAsync(['demo', '--json'])
    expect(run.status, run.stderr).to.equal(0)
    const report = run.json()
    expect(report.steps.map((step: {id: string}) => step.id)).to.deep.equal(['pool', 'node', 'scrub', 'alert', 'replace', 'rollback', 'cleanup'])
    for (const step of report.steps) expect(step.result, `${step.id}: ${step.detail.join('; ')}`).to.equal('passed')
    const detail = (id: string) => report.steps.find((step: {id: string}) => step.id === id).detail.join('\n')
    expect(detail('scrub')).to.match(/disk-a: \d+ checksum errors/)
    expect(detail('alert')).to.match(/CRITICAL.*disk-a/)
    // The prebuilt Core Lightning beside the project (the node tests need it too): the demo runs it, not the stand-in.
    expect(report.node, detail('node')).to.equal('lightningd')
    expect(detail('node')).to.match(/the real lightningd .* answers getinfo/)
    expect(detail('replace')).to.match(/\d+ addresses handed out by lightningd \(each a write it committed\), all still in its wallet \(key index up to \d+\); data_version \d+, never below what it acknowledged; quick_check ok/)
    expect(detail('rollback')).to.contain('DO NOT START (exit 2)')
    expect(report.passed).to.equal(true)
    expect(existsSync(report.sandbox), 'sandbox removed').to.equal(false)
    expect(poolsNamed(report.pool)).to.deep.equal([])
  })

  it('cleans up when interrupted (Ctrl-C) in the middle, and exits 130', async function () {
    // The wait for the node writing on the pool, then the clean-up, each within what a wait is given.
    this.timeout(2 * WAIT_DEADLINE_MS)
    const child = spawn(process.execPath, [BIN, 'demo'], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk))
    // Interrupt once the node writes to the pool: a pool, a node and a mail server to clean up.
    await waitFor('the demo to reach "== A disk goes bad"', () => output.includes('== A disk goes bad') || child.exitCode !== null, {seen: () => output.slice(-2000)})
    expect(child.exitCode, output).to.equal(null)
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, output).to.equal(130)
    expect(output).to.contain('Interrupted: cleaning up')
    const sandbox = /\/\S*lnstore-demo-\w+/.exec(output)![0]
    const pool = /--pool (lnsdemo\d+)/.exec(output)![1]
    expect(existsSync(sandbox), 'sandbox removed').to.equal(false)
    expect(poolsNamed(pool)).to.deep.equal([])
  })
})
