import type {StatusResult} from '../storage/view.js'
import type {Deps} from '../system/deps.js'
import type {Authority} from './authority.js'
import type {Difference} from './divergence.js'
import type {ChironfsView} from './observe.js'
import {observeReplicas, type ObserveOptions} from './status-observe.js'
import {judgeStatus, type ReplicaReport} from './status-judge.js'
import {chironfsPoolView} from './status-view.js'

/**
 * `lnstore status` in mode chironfs: observe (status-observe: each replica probed in a child
 * process with a timeout, ChironFS's control interface and log, the node database through the
 * mount, the replicas' trees and data_version), judge (status-judge: pure findings and the replica
 * heal would copy from), view (status-view: the mount as one "pool" whose devices are the replicas).
 */

export type {ReplicaReport} from './status-judge.js'

export interface ChironfsReport {
  mountpoint: string
  mounted: boolean
  /** Why the mount does not answer though it is listed (ChironFS's process died or hangs); null when it answers or is not mounted. */
  mountProblem: string | null
  replicas: ReplicaReport[]
  differences: Difference[]
  /** Which replica heal would copy from, and why not when it would refuse; null when all agree. */
  authority: Authority | null
  /** How many looks the divergence check took (more than 1 when the first saw something to confirm). */
  looks: number
  view: ChironfsView
}

export type ChironfsStatusResult = StatusResult & {chironfs: ChironfsReport}

export type ChironfsCheckOptions = ObserveOptions

export async function checkChironfsStatus(deps: Deps, options: ChironfsCheckOptions): Promise<ChironfsStatusResult> {
  const observation = await observeReplicas(deps, options)
  const judgement = judgeStatus(observation, options.config, options)
  const pool = chironfsPoolView(observation, judgement)
  return {
    verdict: pool.verdict,
    findings: [],
    pools: [pool],
    source: {from: 'chironfs', dialect: 'text'},
    checkedAt: observation.now,
    chironfs: {
      mountpoint: observation.mountpoint,
      mounted: observation.mounted,
      mountProblem: observation.mountProblem,
      replicas: judgement.replicas,
      differences: observation.divergence?.differences ?? [],
      authority: judgement.authority,
      looks: observation.divergence?.looks ?? 0,
      view: observation.view,
    },
  }
}
