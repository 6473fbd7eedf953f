// A separate process recording one status into a shared history, for the concurrency test. Plain
// JavaScript over the built dist/ (npm test builds first): twelve of these start in parallel, and
// each would spend a second compiling TypeScript under tsx.
import {readFileSync} from 'node:fs'

import {HistoryStore} from '../../dist/state/history.js'
import {parseStatus} from '../../dist/zfs/status-json.js'

const [stateDir, index] = process.argv.slice(2)
const text = readFileSync(new URL('../fixtures/zpool-status/openzfs-2.3.2/013-scrub-repaired-cksum.txt', import.meta.url), 'utf8').replace('    75', `    ${100 + Number(index)}`)
await new HistoryStore(stateDir).record(parseStatus(text), 1000 + Number(index), 35)
