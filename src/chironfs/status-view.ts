import type {PoolView, VdevView} from '../storage/view.js'
import {worst, type Finding} from '../storage/verdict.js'
import {formatReplica, SCOPE} from './replicas.js'
import type {StatusObservation} from './status-observe.js'
import type {Judgement, ReplicaReport} from './status-judge.js'

/**
 * The view half of `lnstore status` in mode chironfs: the mount as one "pool" named chironfs whose
 * devices are the replicas, so that verdicts, --json, exit codes, alerts and rendering work as in ZFS mode.
 */
export function chironfsPoolView(observation: StatusObservation, judgement: Judgement): PoolView {
  const {findings, replicas} = judgement
  const capacity = Math.max(-1, ...replicas.map((report) => report.probe.usedPercent ?? -1))
  return {
    name: SCOPE,
    label: `the ChironFS replicas at ${observation.mountpoint}`,
    state: !observation.mounted ? 'UNMOUNTED' : observation.mountProblem ? 'NOT ANSWERING' : 'MOUNTED',
    verdict: worst([...findings.map((finding: Finding) => finding.verdict), ...replicas.map((report) => report.verdict)]),
    read: null,
    write: null,
    cksum: null,
    scan: {kind: null, state: null, percent: null, errors: null, raw: ''},
    errors: null,
    capacityPercent: capacity < 0 ? null : capacity,
    lastScrub: observation.lastScrub,
    findings,
    exactCounts: true,
    warnings: [],
    vdevs: replicas.map(vdevView),
  }
}

function vdevView(report: ReplicaReport): VdevView {
  const state = !report.probe.reachable ? 'UNREACHABLE' : report.enabled === false ? 'DISABLED' : report.findings.some((finding) => finding.verdict === 'CRITICAL') ? 'STALE' : 'ONLINE'
  return {
    name: formatReplica(report),
    state,
    read: null,
    write: null,
    cksum: null,
    role: 'data',
    notes: [report.slow ? 'slow' : '', report.nfs ? 'nfs' : '', report.dataVersion === null ? '' : `data_version ${report.dataVersion}`].filter(Boolean),
    path: report.path,
    verdict: report.verdict,
    findings: report.findings,
    rates: null,
    children: [],
  }
}
