import {expect} from 'chai'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {ClnMissing, unpackCln} from '../../src/demo/cln.js'

/** Where the real Core Lightning is not at hand, the demo runs the stand-in and prints this message: it must name what is missing. */
describe('the real Core Lightning not at hand (src/demo/cln.ts)', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lnstore-cln-unit-'))))
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('names the tarball it looked for', () => {
    const missing = join(dir, 'core-lightning-v0.tar.zst')
    expect(() => unpackCln(join(dir, 'into'), {LNSTORE_CLN_TARBALL: missing})).to.throw(ClnMissing, `${missing} (LNSTORE_CLN_TARBALL) does not exist`)
  })

  it('names fake-bitcoin-cli when only the chain is missing', () => {
    const fake = join(dir, 'no-fake-bitcoin-cli')
    // The tarball only has to exist here: fake-bitcoin-cli is looked for before anything is unpacked.
    expect(() => unpackCln(join(dir, 'into'), {LNSTORE_CLN_TARBALL: dir, LNSTORE_FAKE_BITCOIN_CLI: fake})).to.throw(ClnMissing, `fake-bitcoin-cli is missing at ${fake} (set LNSTORE_FAKE_BITCOIN_CLI)`)
  })
})

