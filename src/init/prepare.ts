import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {checkDevices, Refused, type DeviceFacts, type Layout, type Refusal} from '../devices/checks.js'
import {gatherDeviceFacts} from '../devices/facts.js'
import {planOf, type PlanEntry, type Step} from '../runbook/engine.js'
import type {Deps} from '../system/deps.js'
import {parseMountInfo} from '../storage/mounts.js'
import {chooseProperties, parsePropertyUsage} from '../zfs/properties.js'
import {Zpool} from '../zfs/zpool.js'
import {initSteps, isEmptyOrMissing, type InitContext} from './plan.js'
import {processesUsing} from './processes.js'

export interface InitRequest {
  layout: Layout
  devices: string[]
  pool: string
  dataset?: string
  dataDir?: string
  user?: string
  group?: string
  allowFiles: boolean
  force: boolean
  configPath: string
  stateDir: string
}

export interface InitPreparation {
  context: InitContext
  steps: Step<InitContext>[]
  plan: PlanEntry[]
  devices: DeviceFacts[]
  /** What the operator should know before saying yes: names resolved, settings skipped. */
  notes: string[]
}

/** `init` will not go ahead; each refusal says why and what to do instead. */
export class InitRefused extends Refused {
  constructor(refusals: Refusal[]) {
    super('init', refusals)
  }
}

const refusal = (device: string, reason: string, wayOut: string): Refusal => ({device, reason, wayOut, forceable: false})

/** Looks at the machine and decides everything `init` will do; touches nothing. */
export async function prepareInit(deps: Deps, request: InitRequest): Promise<InitPreparation> {
  const refusals: Refusal[] = []
  const pools = (await new Zpool(deps.runner).status()).report
  if (pools.pools.some((pool) => pool.name === request.pool)) {
    refusals.push(refusal(request.pool, 'a pool of that name already exists', `choose another name with --pool, or use the existing pool: lnstore status --pool ${request.pool}`))
  }

  const devices = await gatherDeviceFacts(deps, request.devices, pools)
  refusals.push(...checkDevices(devices, {layout: request.layout, force: request.force, allowFiles: request.allowFiles}))

  const owner = await resolveOwner(deps, request)
  const dataDir = request.dataDir ?? join(owner.home, '.lightning')
  const stamp = new Date(deps.now()).toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
  const stagingDir = `${dataDir}.lnstore-new`
  const originalKeptAt = `${dataDir}.pre-lnstore-${stamp}`
  const migrate = !(await isEmptyOrMissing(dataDir))
  refusals.push(...(await checkDataDir(deps, dataDir, migrate, stagingDir, originalKeptAt)))
  if (refusals.length > 0) throw new InitRefused(refusals)

  const usage = async (tool: string) => parsePropertyUsage((await deps.runner.run([tool, 'get'])).stderr)
  const properties = chooseProperties(await usage('zpool'), await usage('zfs'))
  const previousConfig = await readFile(request.configPath, 'utf8').catch(() => null)
  const dataset = request.dataset ?? `${request.pool}/lightning`
  const context: InitContext = {
    pool: request.pool,
    layout: request.layout,
    devices: devices.map((device) => device.path),
    dataset,
    dataDir,
    owner: {user: owner.user, group: owner.group},
    properties,
    migrate,
    stagingDir,
    originalKeptAt,
    configPath: request.configPath,
    previousConfig,
    newConfig: await updatedConfigText(request.configPath, previousConfig, (current) => {
      const pools: string[] = Array.isArray(current.pools) ? current.pools : []
      return {
        ...current,
        mode: 'zfs',
        pools: pools.includes(request.pool) ? pools : [...pools, request.pool],
        dataset,
        dataDir,
        node: {...current.node, user: owner.user},
      }
    }),
    stateDir: request.stateDir,
  }

  const notes = [
    ...devices.map((device) =>
      device.stableName
        ? `${device.given} is ${device.stableName}: lnstore uses that name, because sdX names move between boots`
        : `${device.given} has no /dev/disk/by-id name (${device.kind === 'file' ? 'a file' : 'loop devices and machines without udev have none'}): using ${device.path}`,
    ),
    ...properties.skipped.map((skip) => `not setting ${skip.property}=${skip.value}: ${skip.note}`),
    migrate
      ? `${dataDir} has data: it is copied onto ${dataset} and verified, then kept as ${originalKeptAt} (remove it yourself once the node runs well)`
      : `${dataDir} is empty or missing: ${dataset} is mounted there directly`,
  ]
  const steps = initSteps(deps, context)
  return {context, steps, plan: planOf(steps), devices, notes}
}

export interface Owner {
  user: string
  group: string
  home: string
}

/** The node's user: --user, else the owner of an existing data directory; its primary group unless --group. */
export async function resolveOwner(deps: Deps, request: Pick<InitRequest, 'user' | 'group' | 'dataDir'>): Promise<Owner> {
  let key = request.user
  if (!key && request.dataDir) key = String((await stat(request.dataDir).catch(() => null))?.uid ?? '')
  if (!key) throw new InitRefused([refusal('--user', 'lnstore cannot tell which user runs the node', 'give --user NAME (and --data-dir, if it is not ~NAME/.lightning)')])
  const passwd = await deps.runner.run(['getent', 'passwd', key])
  const [user, , , gid, , home] = passwd.stdout.trim().split(':')
  if (passwd.exitCode !== 0 || !user) throw new InitRefused([refusal(key, 'no such user on this machine', 'create the node user first, or name the right one with --user')])
  if (request.group) return {user, group: request.group, home}
  const group = (await deps.runner.run(['getent', 'group', gid])).stdout.split(':')[0] || gid
  return {user, group, home}
}

async function checkDataDir(deps: Deps, dataDir: string, migrate: boolean, stagingDir: string, originalKeptAt: string): Promise<Refusal[]> {
  const refusals: Refusal[] = []
  const mounted = parseMountInfo(await deps.readFile('/proc/self/mountinfo')).find((mount) => mount.mountPoint === dataDir)
  if (mounted) refusals.push(refusal(dataDir, `is already a mount point (${mounted.source}, ${mounted.fsType})`, 'unmount it, or point --data-dir at the node\'s real data directory'))
  if (!(await isEmptyOrMissing(stagingDir))) refusals.push(refusal(stagingDir, 'exists and is not empty (left from an earlier attempt?)', `move it away or remove it, then run init again`))
  if (!(await isEmptyOrMissing(originalKeptAt))) refusals.push(refusal(originalKeptAt, 'exists and is not empty', 'wait a second and run init again'))
  if (migrate) {
    const users = await processesUsing(dataDir)
    if (users.length > 0) {
      refusals.push(
        refusal(
          dataDir,
          `is in use by ${users.map((user) => `${user.command} (pid ${user.pid})`).join(', ')}: its data must not change while it is copied`,
          'stop the Lightning node first (for example: lightning-cli stop, or systemctl stop lightningd), then run init again',
        ),
      )
    }
  }

  return refusals
}

/** The config file after init: what was there, changed by `update` (the new mode, pool or replicas, data directory, node user). */
export async function updatedConfigText(path: string, previous: string | null, update: (current: Record<string, any>) => Record<string, unknown>): Promise<string> {
  const json = path.endsWith('.json')
  const {parse, stringify} = await import('yaml')
  const current = (previous ? (json ? JSON.parse(previous) : parse(previous)) : {}) ?? {}
  const next = update(current)
  return json ? `${JSON.stringify(next, null, 2)}\n` : stringify(next)
}
