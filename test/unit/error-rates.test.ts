import {expect} from 'chai'

import {errorIncrements, errorRates, worstBurst, type CounterSample} from '../../src/zfs/error-rates.js'

const MIN = 60_000
const sample = (minute: number, cksum: number, read = 0, write = 0, seenMinute = minute): CounterSample => ({t: minute * MIN, seen: seenMinute * MIN, read, write, cksum})

describe('error rates', () => {
  it('turns cumulative counters into increments, a drop being a reset and not negative errors', () => {
    const increments = errorIncrements([sample(0, 0, 0, 0, 5), sample(10, 4), sample(20, 9), sample(30, 2), sample(40, 3)])
    expect(increments.map((inc) => [inc.from / MIN, inc.to / MIN, inc.cksum, inc.afterReset])).to.deep.equal([
      [5, 10, 4, false],
      [10, 20, 5, false],
      [20, 30, 2, true],
      [30, 40, 1, false],
    ])
  })

  it('counts new errors in the last hour, day and window', () => {
    const now = 3 * 24 * 60 * MIN
    const increments = errorIncrements([sample(0, 0), sample(60 * 24, 5), sample(now / MIN - 30, 7), sample(now / MIN - 5, 8)])
    expect(errorRates(increments, now, 30)).to.deep.equal({lastHour: 3, lastDay: 3, lastWindow: 8, windowDays: 30})
  })

  it('finds a burst only within spans short enough to prove it', () => {
    const rule = {errors: 10, seconds: 600}
    const quick = errorIncrements([sample(0, 0), sample(5, 6), sample(9, 12)])
    expect(worstBurst(quick, 'cksum', rule)).to.deep.equal({errors: 12, from: 0, to: 9 * MIN})
    // 50 errors since a look a day ago may have come slowly: no proof of a burst.
    const slow = errorIncrements([sample(0, 0), sample(24 * 60, 50)])
    expect(worstBurst(slow, 'cksum', rule)).to.equal(null)
  })

  it('forgets bursts from before the counters were reset (zpool clear)', () => {
    const rule = {errors: 10, seconds: 600}
    const cleared = errorIncrements([sample(0, 0), sample(5, 20), sample(60, 0), sample(65, 1)])
    expect(worstBurst(cleared, 'cksum', rule)?.errors).to.equal(1)
  })

  it('counts read and write errors together as I/O errors', () => {
    const increments = errorIncrements([sample(0, 0, 0, 0), sample(5, 0, 6, 5)])
    expect(worstBurst(increments, 'io', {errors: 10, seconds: 600})?.errors).to.equal(11)
    expect(worstBurst(increments, 'cksum', {errors: 10, seconds: 600})).to.equal(null)
  })
})
