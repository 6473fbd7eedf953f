import {expect} from 'chai'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hsmNodeId} from '../../src/node/identity.js'
import {systemDeps} from '../../src/system/deps.js'
import {StubRunner} from '../support/stub-runner.js'

/** What the start gate concludes from lightning-hsmtool's answers (the real tool runs in real-node.test.ts). */
describe('the node id an hsm_secret gives', () => {
  const secret = join(mkdtempSync(join(tmpdir(), 'lnstore-hsm-')), 'hsm_secret')
  writeFileSync(secret, 'x')
  const id = `02${'ab'.repeat(32)}`
  const ask = (result: {exitCode: number | null; stdout?: string; stderr?: string}) =>
    hsmNodeId({...systemDeps, runner: new StubRunner().expect(['lightning-hsmtool', 'getnodeid', secret], result, {timeoutMs: 30_000})}, secret, 'lightning-hsmtool')

  it('is the id hsmtool prints', async () => {
    expect(await ask({exitCode: 0, stdout: `${id}\n`})).to.deep.equal({id})
  })

  it('is unknown, saying why, when hsmtool is missing, fails (an encrypted secret) or prints no node id', async () => {
    expect(await ask({exitCode: 127})).to.deep.equal({unknown: 'lightning-hsmtool is not installed (it comes with Core Lightning: put it on PATH, or set node.hsmtool in the config to its path)'})
    expect(await ask({exitCode: 1, stderr: 'hsm_secret is encrypted, you need to pass the --passphrase\n'})).to.deep.equal({unknown: `lightning-hsmtool getnodeid ${secret} failed (exit code 1): hsm_secret is encrypted, you need to pass the --passphrase`})
    expect(await ask({exitCode: 0, stdout: 'something else\n'})).to.have.property('unknown').that.contains('failed (exit code 0): something else')
  })

  it('is unknown without running hsmtool when there is no hsm_secret', async () => {
    expect(await hsmNodeId({...systemDeps, runner: new StubRunner()}, join(tmpdir(), 'no-such-dir', 'hsm_secret'), 'lightning-hsmtool')).to.deep.equal({unknown: `${join(tmpdir(), 'no-such-dir', 'hsm_secret')} does not exist`})
  })
})
