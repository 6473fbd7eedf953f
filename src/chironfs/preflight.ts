import type {Config} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import type {Finding} from '../storage/verdict.js'
import {checkChironfsStatus} from './status.js'

/**
 * What `lnstore preflight` says of the ChironFS mount before the node starts. The node's data is
 * judged through the mount afterwards (data_version against the highest seen, quick_check), as in
 * ZFS mode: here, whether the mount is there at all, and the replicas. A replica that fell behind,
 * is disabled or does not answer leaves the node without its second copy: that refuses the start
 * like a pool without redundancy, unless allowDegradedStart is set.
 */
export async function chironfsStartFindings(deps: Deps, config: Config, stateDir: string): Promise<{mounted: boolean; findings: Finding[]; olderDataNext: string}> {
  const status = await checkChironfsStatus(deps, {config, stateDir, skipNodeData: true})
  // Data older than the node wrote, served by a stale replica (remounted without a heal): heal copies the newest intact replica over it.
  const {authority} = status.chironfs
  const olderDataNext =
    authority?.authoritative && !authority.problem
      ? `lnstore heal   (${authority.authoritative} holds the newest intact copy: heal copies it over the stale replicas, verified; then lnstore preflight)`
      : 'no replica holds a copy as new as what the node last wrote: restore the newest copy of the database from a backup; only if this one is truly the newest: lnstore preflight ack'
  const [scope] = status.pools
  const replicaFindings = scope.vdevs.flatMap((replica) => (replica.findings ?? []).filter((finding) => finding.verdict !== 'OK').map((finding) => ({...finding, message: `replica ${replica.name}: ${finding.message}`})))
  const allowed = (finding: Finding): Finding =>
    finding.verdict === 'CRITICAL' && config.allowDegradedStart ? {...finding, verdict: 'WARNING', message: `${finding.message} (starting anyway: allowDegradedStart is set in the config)`} : finding
  // A mount that does not answer holds no data the gate could read.
  return {mounted: status.chironfs.mounted && !status.chironfs.mountProblem, findings: [...scope.findings, ...replicaFindings.map(allowed)], olderDataNext}
}
