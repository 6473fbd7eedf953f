import {expect} from 'chai'
import {readFileSync} from 'node:fs'

import {discardingEvents, parsePoolHistory} from '../../src/zfs/pool-history.js'

const captured = readFileSync(new URL('../fixtures/zpool-history/zfs-fuse-0.7.0-rollback-import-F.txt', import.meta.url), 'utf8')

describe('zpool history: what discards recent writes', () => {
  it('reads the command lines with their local-time stamps, skipping internal events', () => {
    const entries = parsePoolHistory(captured)
    expect(entries[0]).to.deep.equal({at: new Date(2026, 10, 25, 21, 47, 17).getTime(), command: 'zpool create -m /tmp/zt/mnt tp mirror /tmp/zt/a /tmp/zt/b'})
    expect(entries.every((entry) => !entry.command.startsWith('[internal'))).to.equal(true)
  })

  it('finds the rollback of the node dataset and the rewinding import of its pool', () => {
    const events = discardingEvents(parsePoolHistory(captured), 'tp/lightning')
    expect(events.map((event) => [event.command, event.why])).to.deep.equal([
      ['zfs rollback tp/lightning@s1', 'tp/lightning was rolled back to a snapshot'],
      ['zpool import -F -d /tmp/zt tp', 'tp was imported with rewind, discarding its last transactions'],
    ])
  })

  it('ignores other datasets, plain imports and exports', () => {
    const entries = [
      {at: 1, command: 'zfs rollback tp/other@s1'},
      {at: 2, command: 'zpool import -d /dev/disk/by-id tp'},
      {at: 3, command: 'zpool export tp'},
      {at: 4, command: 'zfs rollback -r tp@everything'},
      {at: 5, command: 'zpool import --rewind-to-checkpoint tp'},
      {at: 6, command: 'zpool import -X other'},
    ]
    expect(discardingEvents(entries, 'tp/lightning').map((event) => event.at)).to.deep.equal([4, 5])
  })
})
