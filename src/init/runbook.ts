import type {ChironfsInitContext} from '../chironfs/init.js'
import {formatReplica} from '../chironfs/replicas.js'
import type {PlanEntry, Step} from '../runbook/engine.js'
import type {Deps} from '../system/deps.js'
import {initSteps, type InitContext} from './plan.js'

/** One journal for both kinds of init: a ChironFS run's context has its mount settings. */
export type AnyInitContext = InitContext | ChironfsInitContext

export interface InitResult {
  action: 'planned' | 'created' | 'resumed' | 'aborted'
  plan: PlanEntry[]
  notes: string[]
  mode: 'zfs' | 'chironfs'
  /** Mode zfs: the pool and dataset; mode chironfs: the replicas. */
  pool?: string
  dataset?: string
  replicas?: string[]
  dataDir: string
  /** Where the original data directory was kept, when there was data to move. */
  originalKeptAt?: string
}

const isChironfs = (context: AnyInitContext): context is ChironfsInitContext => 'mount' in context

/** The steps of the init recorded in a journal, of either kind. */
export async function initStepsOf(deps: Deps, context: AnyInitContext): Promise<Step<AnyInitContext>[]> {
  if (!isChironfs(context)) return initSteps(deps, context) as Step<AnyInitContext>[]
  const {chironfsInitSteps} = await import('../chironfs/init.js')
  return chironfsInitSteps(deps, context) as Step<AnyInitContext>[]
}

export function initResult(action: InitResult['action'], context: AnyInitContext, plan: PlanEntry[], notes: string[]): InitResult {
  const kept = context.migrate ? {originalKeptAt: context.originalKeptAt} : {}
  if (!isChironfs(context)) return {action, plan, notes, mode: 'zfs', pool: context.pool, dataset: context.dataset, dataDir: context.dataDir, ...kept}
  return {action, plan, notes, mode: 'chironfs', replicas: context.mount.replicas.map(formatReplica), dataDir: context.mount.mountpoint, ...kept}
}

/** What a finished init says, with the next command. */
export function renderDone(context: AnyInitContext): string {
  if (isChironfs(context)) {
    const {mountpoint, replicas} = context.mount
    return `Done: ChironFS is mounted at ${mountpoint} over ${replicas.map(formatReplica).join(' ')}${context.migrate ? `; the original data is kept at ${context.originalKeptAt}` : ''}.\nNext: lnstore status`
  }

  const lines = [`Done: pool ${context.pool} (${context.layout}) holds ${context.dataset}, mounted at ${context.dataDir}.`]
  if (context.migrate) lines.push(`The original data is kept at ${context.originalKeptAt}: remove it once the node runs well on the pool.`)
  lines.push('Next: lnstore status')
  return lines.join('\n')
}
