import type {ChironfsInitContext} from '../chironfs/init.js'
import {formatReplica} from '../chironfs/replicas.js'
import type {Config} from '../config/schema.js'
import type {Layout} from '../devices/checks.js'
import type {PlannedRun} from '../runbook/command.js'
import {Refusal} from '../runbook/confirm.js'
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

/** What `lnstore init` was asked for, from its flags. */
export interface InitRequest {
  layout?: Layout
  devices: string[]
  replicas: string[]
  pool: string
  dataset?: string
  'data-dir'?: string
  user?: string
  group?: string
  'allow-files': boolean
  force: boolean
  'systemd-dir': string
  configPath: string
  stateDir: string
}

/** A new ZFS init: the pool of the layout asked for, its dataset, and the data moved onto it. */
export async function planZfsInit(deps: Deps, request: InitRequest): Promise<PlannedRun<AnyInitContext>> {
  const {layout} = request
  if (!layout) {
    throw new Refusal('say which pool to make: --mirror DEVICE DEVICE..., or --raidz1/--raidz2/--raidz3 DEVICE..., or on a small board --chironfs --replica DIR --replica :NFS-DIR', ['lnstore init --help'])
  }

  const {prepareInit} = await import('./prepare.js')
  const {context, steps, plan, notes} = await prepareInit(deps, {
    layout,
    devices: request.devices,
    pool: request.pool,
    dataset: request.dataset,
    dataDir: request['data-dir'],
    user: request.user,
    group: request.group,
    allowFiles: request['allow-files'],
    force: request.force,
    configPath: request.configPath,
    stateDir: request.stateDir,
  })
  return {context, steps: steps as Step<AnyInitContext>[], plan, notes, question: `This erases everything on ${context.devices.join(', ')}.`}
}

/** A new ChironFS init (small boards): the replicas, the mount and its boot unit. */
export async function planChironfsInit(deps: Deps, request: InitRequest, config: Config): Promise<PlannedRun<AnyInitContext>> {
  const {prepareChironfsInit} = await import('../chironfs/init.js')
  const {systemdRuns} = await import('../system/systemd.js')
  const {context, steps, plan, notes} = await prepareChironfsInit(deps, {
    replicas: request.replicas,
    dataDir: request['data-dir'],
    user: request.user,
    group: request.group,
    configPath: request.configPath,
    stateDir: request.stateDir,
    binary: process.env.LNSTORE_CHIRONFS_BIN ?? config.chironfs.binary,
    controlSocket: config.chironfs.controlSocket,
    log: config.chironfs.log,
    systemdDir: request['systemd-dir'],
    nodeUnit: `${config.node.unit}.service`,
    systemdRunning: await systemdRuns(),
  })
  const copying = context.migrate ? ' after copying its data into every replica' : ''
  return {context, steps: steps as Step<AnyInitContext>[], plan, notes, question: `This mounts ChironFS over ${context.mount.mountpoint}${copying}.`}
}
