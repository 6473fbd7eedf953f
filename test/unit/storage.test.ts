import {expect} from 'chai'

import {validateConfig} from '../../src/config/schema.js'
import {requireRunbook} from '../../src/runbook/command.js'
import type {Refusal} from '../../src/runbook/confirm.js'
import {storageBackend, zfsBackend} from '../../src/storage/load.js'

const chironfs = validateConfig({mode: 'chironfs', dataDir: '/srv/lightning', chironfs: {replicas: ['/srv/a', ':/mnt/nfs/b']}}, 'test')
const zfs = validateConfig({dataDir: '/srv/lightning', dataset: 'tank/lightning'}, 'test')

describe('storage backends', () => {
  it('the config mode picks the backend; saved zpool output is always read by the ZFS one', async () => {
    expect(await storageBackend(zfs)).to.equal(zfsBackend())
    expect(await storageBackend(chironfs)).not.to.equal(zfsBackend())
    expect((await storageBackend(chironfs)).renderPool).to.be.a('function')
  })

  it('says what the config lacks, and where acknowledgements are kept', async () => {
    const backend = await storageBackend(zfs)
    expect(backend.missingSetup(validateConfig({}, 'test'))).to.deep.equal(['dataDir', 'dataset'])
    expect(backend.missingSetup(zfs)).to.deep.equal([])
    expect(backend.scope(zfs)).to.equal('tank')
    expect((await storageBackend(chironfs)).missingSetup(chironfs)).to.deep.equal([])
    expect((await storageBackend(chironfs)).scope(chironfs)).to.equal('chironfs')
  })

  it('refuses (exit 2) a runbook the storage has no use for, with the command to run instead', async () => {
    const refusal = (promise: Promise<void>) => promise.then(() => expect.fail('not refused'), (error: Refusal) => error)
    const replace = await refusal(requireRunbook(chironfs, 'replace-disk'))
    expect([replace.exitCode, replace.nextSteps]).to.deep.equal([2, ['lnstore heal --dry-run']])
    const heal = await refusal(requireRunbook(zfs, 'heal'))
    expect([heal.exitCode, heal.nextSteps]).to.deep.equal([2, ['lnstore scrub --wait']])
    await requireRunbook(zfs, 'replace-disk')
    await requireRunbook(chironfs, 'heal')
  })
})
