// A separate process recording one status into a shared history, for the concurrency test.
import {HistoryStore} from '../../src/state/history.js'
import {parseStatus} from '../../src/zfs/status-json.js'
import {fixture} from './fixtures.js'

const [stateDir, index] = process.argv.slice(2)
const text = fixture('openzfs-2.3.2/013-scrub-repaired-cksum.txt').replace('    75', `    ${100 + Number(index)}`)
await new HistoryStore(stateDir).record(parseStatus(text), 1000 + Number(index), 35)
