import {Refused, type Refusal} from '../devices/checks.js'
import type {Config} from '../config/schema.js'
import {nodeAdapter, type NodeSettings} from '../node/adapter.js'
import {planOf, type PlanEntry, type Step} from '../runbook/engine.js'
import type {Deps} from '../system/deps.js'
import {healSteps, type HealContext} from './heal.js'
import {configuredReplicas} from './replicas.js'
import {checkChironfsStatus, type ChironfsReport} from './status.js'

export interface HealPreparation {
  /** Null when every replica is in step: nothing to heal. */
  context: HealContext | null
  steps: Step<HealContext>[]
  plan: PlanEntry[]
  notes: string[]
  report: ChironfsReport
}

const refusal = (device: string, reason: string, wayOut: string): Refusal => ({device, reason, wayOut, forceable: false})

/**
 * Looks at the replicas as `lnstore status` does and decides the heal: which replica is the
 * source (the newest intact copy of the node database) and which are stale. Refuses, touching
 * nothing, when a replica does not answer (it cannot be written) or no replica is clearly right.
 */
export async function prepareHeal(deps: Deps, options: {config: Config; stateDir: string; node: NodeSettings}): Promise<HealPreparation> {
  const {config} = options
  const {chironfs: report} = await checkChironfsStatus(deps, {config, stateDir: options.stateDir})
  const refusals: Refusal[] = []
  for (const replica of report.replicas) {
    if (!replica.probe.reachable) refusals.push(refusal(replica.path, `does not answer (${replica.probe.error ?? 'unknown error'})`, 'bring it back (the NFS server, the disk), then run lnstore heal again'))
    else if (!replica.probe.writable) refusals.push(refusal(replica.path, `is not writable (${replica.probe.error ?? 'unknown error'})`, 'fix its permissions or mount, then run lnstore heal again'))
  }

  if (report.authority?.problem) refusals.push(refusal('replicas', report.authority.problem, 'compare the replicas by hand: lnstore status --json lists every difference'))
  if (refusals.length > 0) throw new Refused('heal', refusals)

  const disabled = report.replicas.filter((replica) => replica.enabled === false || replica.disabledInLog)
  const authoritative = report.authority?.authoritative ?? report.replicas.find((replica) => !disabled.includes(replica))?.path
  const stale = [...(report.authority?.stale ?? [])]
  for (const replica of disabled) if (replica.path !== authoritative && !stale.some((entry) => entry.replica === replica.path)) stale.push({replica: replica.path, reason: 'ChironFS disabled it after a write failed there'})
  if (!authoritative || stale.length === 0) return {context: null, steps: [], plan: [], notes: ['every replica holds the same data and ChironFS uses all of them: nothing to heal'], report}

  const node = nodeAdapter(deps, options.node)
  const nodeWasRunning = await node.isRunning()
  const source = report.replicas.find((replica) => replica.path === authoritative)!
  const context: HealContext = {
    mount: {binary: config.chironfs.binary, replicas: configuredReplicas(config.chironfs), mountpoint: config.dataDir!, controlSocket: config.chironfs.controlSocket, log: config.chironfs.log},
    authoritative,
    stale,
    databasePath: null,
    node: options.node,
    nodeWasRunning,
    stopTimeoutSeconds: config.node.stopTimeoutSeconds,
    startTimeoutSeconds: config.node.startTimeoutSeconds,
    stateDir: options.stateDir,
  }
  const {findNodeDatabases} = await import('../node/data-version.js')
  const {main} = await findNodeDatabases(authoritative)
  if (main?.startsWith(`${authoritative}/`)) context.databasePath = main.slice(authoritative.length + 1)
  const notes = [
    `source: ${authoritative}${source.dataVersion === null ? '' : ` (data_version ${source.dataVersion})`}`,
    ...stale.map((entry) => `stale: ${entry.replica}: ${entry.reason}; everything in it is replaced by a copy of the source`),
    nodeWasRunning ? 'the node is running: it is stopped for the heal and started again once every replica is verified' : 'the node is not running: it is left stopped',
  ]
  const steps = healSteps(deps, context)
  return {context, steps, plan: planOf(steps), notes, report}
}
