import {expect} from 'chai'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {lnstoreAsync} from '../support/cli.js'
import {ChironSandbox, requireChironfs, sh} from '../support/chironfs-sandbox.js'

/** `lnstore scrub` in mode chironfs: the full comparison (every file hashed) on real replica directories. */
describe('lnstore scrub in mode chironfs (full comparison of the replicas)', function () {
  const sandbox = new ChironSandbox()
  // heal mounts ChironFS at the end
  before(requireChironfs)
  after(() => sandbox.cleanup())

  it('finds silent corruption a quick look cannot see, records it, and status keeps it CRITICAL until healed', async () => {
    const r1 = sandbox.replica('r1', {ownFilesystem: true})
    const r2 = sandbox.replica('r2', {ownFilesystem: true})
    for (const replica of [r1, r2]) {
      sandbox.database(replica, 21)
      writeFileSync(join(replica, 'hsm_secret'), 'A'.repeat(32))
    }

    const dataDir = join(sandbox.dir, 'data')
    mkdirSync(dataDir)
    const config = sandbox.config('scrub', dataDir, [r1, `:${r2}`], {node: {kind: 'commands', startCommand: 'true', stopCommand: 'true'}})
    const stateDir = JSON.parse(readFileSync(config, 'utf8')).stateDir

    const clean = await lnstoreAsync(['scrub', '--config', config, '--json'])
    const first = clean.json()
    expect(first.pools[0]).to.deep.include({pool: 'chironfs', state: 'finished'})
    expect(first.pools[0].run.errors).to.equal(0)
    expect(first.pools[0].message).to.match(/compared 2 replicas in .*: they hold the same data/)

    // One byte flipped on the slow replica, size and modification time kept: what a failing disk or a bad NFS cache does.
    const secret = join(r2, 'hsm_secret')
    writeFileSync(`${secret}.tmp`, `${'A'.repeat(31)}B`)
    sh('touch', ['-r', secret, `${secret}.tmp`])
    sh('mv', [`${secret}.tmp`, secret])

    const quick = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
    expect(quick.chironfs.replicas.map((replica: {verdict: string}) => replica.verdict)).to.deep.equal(['OK', 'OK'])

    const scrub = await lnstoreAsync(['scrub', '--config', config, '--json'])
    expect(scrub.status).to.equal(2)
    const result = scrub.json()
    expect(result.pools[0].run.errors).to.equal(1)
    const difference = `hsm_secret has the same size but different content (${r1} | ${r2})`
    const replica2 = result.status.chironfs.replicas.find((replica: {path: string}) => replica.path === r2)
    expect(replica2.findings.map((finding: {message: string}) => finding.message)).to.include(`differs from the other replicas in 1 place: ${difference}`)
    // The clean comparison before recorded every file: r1's copy is still as verified, r2's was changed behind ChironFS.
    expect(result.status.chironfs.authority).to.deep.include({authoritative: r1, problem: null})
    // In text, scrub names the file, the replicas and what to run.
    const text = await lnstoreAsync(['scrub', '--config', config])
    expect(text.stderr).to.contain(difference)
    expect(text.stderr).to.contain(`${r2} is stale: its copy of hsm_secret is not what lnstore last verified, while ${r1} still holds that: changed behind ChironFS`)
    expect(text.stderr).to.contain('next: lnstore heal')

    const events = JSON.parse(readFileSync(join(stateDir, 'events.json'), 'utf8'))
    expect(events.at(-1)).to.deep.include({kind: 'replicas-compared', pool: 'chironfs'})
    expect(events.at(-1).detail.differences).to.deep.equal([difference])

    // A quick status sees it too (it hashes what the scrub found), names it, and advises what heal will do.
    const after = await lnstoreAsync(['status', '--config', config, '--no-alert'])
    expect(after.status).to.equal(2)
    expect(after.stdout).to.match(/the last full comparison of the replicas \(.* ago\) found 1 problem: hsm_secret \(still there: hsm_secret has the same size but different content/)
    expect(after.stdout).to.contain(`:${r2}`)
    expect(after.stdout).to.contain(`differs from the other replicas in 1 place: ${difference}`)
    expect(after.stdout).to.contain('next: lnstore heal')
    expect(after.stdout).to.not.contain('no full comparison')

    // The advice is accepted: heal copies the intact replica over the changed one, verified, and status is clean again.
    const heal = await lnstoreAsync(['heal', '--config', config, '--yes', '--json'])
    expect(heal.status, heal.stdout + heal.stderr).to.equal(0)
    expect(heal.json()).to.deep.include({action: 'healed', authoritative: r1})
    expect(readFileSync(secret, 'utf8')).to.equal('A'.repeat(32))
    const healed = await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])
    expect(healed.json().verdict, healed.stdout).to.equal('OK')
  })

  it('two copies that differ and neither is known intact: status does not advise heal (which refuses), but the way out by hand', async () => {
    const r1 = sandbox.replica('n1', {ownFilesystem: true})
    const r2 = sandbox.replica('n2', {ownFilesystem: true})
    for (const [replica, fill] of [[r1, 'A'], [r2, 'B']]) {
      sandbox.database(replica, 21)
      writeFileSync(join(replica, 'hsm_secret'), fill.repeat(32))
      sh('touch', ['-d', '2026-01-01 00:00', join(replica, 'hsm_secret')])
    }

    const dataDir = join(sandbox.dir, 'n-data')
    mkdirSync(dataDir)
    const config = sandbox.config('n', dataDir, [r1, `:${r2}`])
    const scrub = await lnstoreAsync(['scrub', '--config', config])
    expect(scrub.status).to.equal(2)
    expect(scrub.stderr).to.contain(`hsm_secret has the same size but different content (${r1} | ${r2})`)
    expect(scrub.stderr).to.match(/lnstore heal refuses: .*no copy is known to be as lnstore last verified it/)
    const status = await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])
    const nexts = [...status.json().pools[0].findings, ...status.json().pools[0].vdevs.flatMap((vdev: {findings: object[]}) => vdev.findings)].map((finding: {next?: string}) => finding.next ?? '')
    expect(nexts.filter((next: string) => next.startsWith('lnstore heal ') || next.startsWith('lnstore heal\t'))).to.deep.equal([])
    expect(nexts.some((next: string) => next.endsWith('then: lnstore scrub --wait'))).to.equal(true)
  })
})
