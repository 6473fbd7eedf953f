import {expect} from 'chai'

import {CommandError, runChecked} from '../../src/system/runner.js'
import {StubRunner} from '../support/stub-runner.js'

describe('runChecked', () => {
  const busy = {exitCode: 1, stderr: "cannot unmount '/srv/ln': Device or resource busy"}

  it('tries a command that says "busy" again when asked to, and returns once it succeeds', async () => {
    const runner = new StubRunner().expect(['zfs', 'unmount', 'tank/ln'], busy).expect(['zfs', 'unmount', 'tank/ln'], {})
    expect((await runChecked(runner, ['zfs', 'unmount', 'tank/ln'], {retryWhileBusy: true})).exitCode).to.equal(0)
    runner.verify()
  })

  it('fails at once without the option, and on any other error', async () => {
    const once = new StubRunner().expect(['zfs', 'unmount', 'tank/ln'], busy)
    expect(await runChecked(once, ['zfs', 'unmount', 'tank/ln']).catch((error: unknown) => error)).to.be.instanceOf(CommandError)
    const other = new StubRunner().expect(['zfs', 'destroy', 'tank/ln'], {exitCode: 1, stderr: "cannot open 'tank/ln': dataset does not exist"})
    const error = await runChecked(other, ['zfs', 'destroy', 'tank/ln'], {retryWhileBusy: true}).catch((caught: unknown) => caught)
    expect(error).to.be.instanceOf(CommandError).and.have.property('message').that.contains('dataset does not exist')
    once.verify()
    other.verify()
  })
})
