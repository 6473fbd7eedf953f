import {expect} from 'chai'
import {createTask, validate} from 'node-cron'

import {
  delayWeekly,
  describeWeekly,
  everyCron,
  everyOnCalendar,
  nextEvery,
  nextWeekly,
  stableDelayMinutes,
  unevenInterval,
  weekly,
  weeklyCron,
  weeklyOnCalendar,
} from '../../src/schedule/calendar.js'

// Local times, as cron and systemd read them.
const at = (day: number, hour: number, minute: number, second = 0) => new Date(2026, 10, day, hour, minute, second).getTime()

describe('schedule calendar', () => {
  it('writes the weekly scrub in systemd, cron and human form', () => {
    const sunday3 = weekly('sun', '03:00')
    expect(weeklyOnCalendar(sunday3)).to.equal('Sun *-*-* 03:00:00')
    expect(weeklyCron(sunday3)).to.equal('0 3 * * 0')
    expect(describeWeekly(weekly('sat', '23:05'))).to.equal('Sat 23:05')
  })

  it('writes even intervals for systemd, cron.d and node-cron', () => {
    expect(everyOnCalendar(3600)).to.equal('*-*-* 00/1:00:00')
    expect(everyOnCalendar(300)).to.equal('*-*-* *:00/5:00')
    expect(everyOnCalendar(10)).to.equal('*-*-* *:*:00/10')
    expect(everyCron(300)).to.equal('0 */5 * * * *')
    expect(everyCron(7200)).to.equal('0 0 */2 * * *')
    expect(everyCron(15)).to.equal('*/15 * * * * *')
    for (const seconds of [15, 300, 3600, 7200, 86_400]) expect(validate(everyCron(seconds)), everyCron(seconds)).to.equal(true)
  })

  it('refuses intervals that do not repeat evenly on the clock', () => {
    expect(unevenInterval(300)).to.equal(null)
    expect(unevenInterval(86_400)).to.equal(null)
    expect(unevenInterval(7 * 60)).to.match(/^420 s does not divide a minute, an hour or a day evenly; choose one of/)
    expect(() => everyCron(7 * 60)).to.throw(RangeError)
  })

  it('computes the next weekly run as cron does, across the week boundary', () => {
    const sunday3 = weekly('sun', '03:00')
    expect(nextWeekly(at(25, 22, 13), sunday3)).to.equal(at(29, 3, 0)) // Wednesday -> Sunday
    expect(nextWeekly(at(29, 3, 0), sunday3)).to.equal(at(29 + 7, 3, 0)) // exactly then -> next week
    expect(nextWeekly(at(29, 2, 59), sunday3)).to.equal(at(29, 3, 0))
    for (const now of [at(25, 22, 13), at(29, 3, 0, 30), at(28, 23, 59)]) {
      const task = createTask(weeklyCron(sunday3), () => {})
      expect(nextWeekly(now, sunday3), new Date(now).toString()).to.equal(nextRunAfter(task, now))
    }
  })

  it('computes the next run of an interval aligned on the clock', () => {
    expect(nextEvery(at(25, 22, 13, 20), 300)).to.equal(at(25, 22, 15))
    expect(nextEvery(at(25, 22, 15), 300)).to.equal(at(25, 22, 20))
    expect(nextEvery(at(25, 22, 13), 3600)).to.equal(at(25, 23, 0))
    expect(nextEvery(at(25, 23, 13), 7200)).to.equal(at(26, 0, 0))
    expect(nextEvery(at(25, 23, 13, 7), 10)).to.equal(at(25, 23, 13, 10))
  })

  it('gives each machine its own fixed delay, the same every time, and wraps it into the next day', () => {
    expect(stableDelayMinutes('node-a', 60)).to.equal(stableDelayMinutes('node-a', 60))
    expect(stableDelayMinutes('node-a', 60)).to.be.within(0, 59)
    expect(new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((host) => stableDelayMinutes(`node-${host}`, 60))).size).to.be.greaterThan(1)
    expect(stableDelayMinutes('node-a', 0)).to.equal(0)
    expect(delayWeekly(weekly('sat', '23:30'), 45)).to.deep.equal({day: 'sun', hour: 0, minute: 15})
    expect(delayWeekly(weekly('sun', '03:00'), 47)).to.deep.equal({day: 'sun', hour: 3, minute: 47})
  })
})

/** The first minute after `now` that node-cron's own matcher accepts for the task's expression. */
function nextRunAfter(task: ReturnType<typeof createTask>, now: number): number {
  const minute = 60_000
  try {
    for (let time = Math.floor(now / minute) * minute + minute; time < now + 8 * 86_400_000; time += minute) if (task.match(new Date(time))) return time
    return Number.NaN
  } finally {
    task.destroy()
  }
}
