import {expect} from 'chai'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {lnstoreAsync} from '../support/cli.js'
import {ChironSandbox, sh} from '../support/chironfs-sandbox.js'

/** `lnstore scrub` in mode chironfs: the full comparison (every file hashed) on real replica directories. */
describe('lnstore scrub in mode chironfs (full comparison of the replicas)', function () {
  const sandbox = new ChironSandbox()
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
    const config = sandbox.config('scrub', dataDir, [r1, `:${r2}`])
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
    const replica2 = result.status.chironfs.replicas.find((replica: {path: string}) => replica.path === r2)
    expect(replica2.findings.map((finding: {message: string}) => finding.message)).to.include('differs from the other replicas in 1 place: hsm_secret has the same size but different content')
    expect(result.status.chironfs.authority.problem).to.match(/will not guess/)

    const events = JSON.parse(readFileSync(join(stateDir, 'events.json'), 'utf8'))
    expect(events.at(-1)).to.deep.include({kind: 'replicas-compared', pool: 'chironfs'})
    expect(events.at(-1).detail.differences).to.deep.equal(['hsm_secret has the same size but different content'])

    const after = (await lnstoreAsync(['status', '--config', config, '--no-alert', '--json'])).json()
    const messages = after.pools[0].findings.map((finding: {message: string}) => finding.message)
    expect(messages.find((message: string) => /last full comparison of the replicas/.test(message))).to.match(/found 1 problem \(listed in .*events\.json\)/)
    expect(messages.some((message: string) => /no full comparison/.test(message))).to.equal(false)
  })
})
