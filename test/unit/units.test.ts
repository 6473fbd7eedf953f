import {expect} from 'chai'

import {formatBytes, formatDuration, parseDuration, parseNiceNumber, parseRate, parseZpoolDate} from '../../src/storage/units.js'

describe('units', () => {
  it('reads zpool numbers: plain, exact and abbreviated with base 1024', () => {
    expect(parseNiceNumber('0')).to.equal(0)
    expect(parseNiceNumber('13')).to.equal(13)
    expect(parseNiceNumber('0B')).to.equal(0)
    expect(parseNiceNumber('9K')).to.equal(9216)
    expect(parseNiceNumber('1.2K')).to.equal(1229)
    expect(parseNiceNumber('15M')).to.equal(15 * 1024 ** 2)
    expect(parseNiceNumber('1.94T')).to.equal(Math.round(1.94 * 1024 ** 4))
    expect(parseNiceNumber('18446744073')).to.equal(18_446_744_073)
    expect(parseNiceNumber('-')).to.equal(null)
    expect(parseNiceNumber('12,8K')).to.equal(13_107)
  })

  it('reads rates', () => {
    expect(parseRate('1.73G/s')).to.equal(Math.round(1.73 * 1024 ** 3))
    expect(parseRate('0B/s')).to.equal(0)
    expect(parseRate('150M')).to.equal(null)
  })

  it('reads every duration format zpool has printed', () => {
    expect(parseDuration('00:00:01')).to.equal(1)
    expect(parseDuration('02:28:58')).to.equal(2 * 3600 + 28 * 60 + 58)
    expect(parseDuration('0 days 00:03:52')).to.equal(232)
    expect(parseDuration('1 days 02:03:04')).to.equal(86_400 + 7384)
    expect(parseDuration('0h0m')).to.equal(0)
    expect(parseDuration('3h45m')).to.equal(13_500)
    expect(parseDuration('1h18m')).to.equal(4680)
    expect(parseDuration('soon')).to.equal(null)
    expect(parseDuration('')).to.equal(null)
  })

  it('reads ctime dates as local time, and as UTC when the zone says so', () => {
    expect(parseZpoolDate('Tue Nov 24 20:45:31 2026')).to.equal(new Date(2026, 10, 24, 20, 45, 31).getTime())
    expect(parseZpoolDate('Tue Nov 24 20:47:22 UTC 2026')).to.equal(Date.UTC(2026, 10, 24, 20, 47, 22))
    expect(parseZpoolDate('Sun Jul  5 01:02:03 2020')).to.equal(new Date(2020, 6, 5, 1, 2, 3).getTime())
    expect(parseZpoolDate('yesterday')).to.equal(null)
  })

  it('formats for people', () => {
    expect(formatBytes(0)).to.equal('0B')
    expect(formatBytes(5.83 * 1024 ** 2)).to.equal('5.8M')
    expect(formatDuration(40)).to.equal('40s')
    expect(formatDuration(3 * 86_400 + 4 * 3600)).to.equal('3d 4h')
  })
})
