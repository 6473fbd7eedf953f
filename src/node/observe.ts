import {readFreshness, recordDataVersion} from '../state/freshness.js'
import {CorruptStateError} from '../state/json-file.js'
import type {Finding} from '../storage/verdict.js'
import {findNodeDatabases, readDatabase} from './data-version.js'

/**
 * Each time lnstore looks at the pools it also looks at the node's database: it raises the
 * high-water mark of data_version that `preflight` checks, and says at once when the data went
 * backwards (a rollback, or an older copy put in place).
 */
export async function observeNodeData(dataDir: string, stateDir: string, now: number, by: string): Promise<Finding[]> {
  const {main} = await findNodeDatabases(dataDir)
  if (!main) return []
  let highWater: number | null
  try {
    highWater = (await readFreshness(stateDir)).highWater[main]?.dataVersion ?? null
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error
    return [{verdict: 'WARNING', message: `lnstore's record of the node's data_version is damaged (${error.message})`, next: 'lnstore preflight (then, after checking the data: lnstore preflight ack)'}]
  }

  const reading = await readDatabase(main, {quickCheck: false})
  if (reading.dataVersion === null) return []
  if (highWater !== null && reading.dataVersion < highWater) {
    return [
      {
        verdict: 'CRITICAL',
        message: `the node's database went backwards: data_version ${reading.dataVersion}, but lnstore has seen ${highWater}; the data was rolled back or replaced by an older copy`,
        next: 'stop the node now if it runs (an old channel state must not be broadcast), then: lnstore preflight',
      },
    ]
  }

  await recordDataVersion(stateDir, main, reading.dataVersion, now, by)
  return []
}
