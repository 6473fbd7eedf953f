import {access, lstat, mkdir, readdir, rename, rm, stat, unlink, writeFile} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {Refused, type Refusal} from '../devices/checks.js'
import {compareTrees, copyTree, describeTree} from '../init/copy-tree.js'
import {isEmptyOrMissing, writeConfigStep} from '../init/plan.js'
import {resolveOwner, updatedConfigText} from '../init/prepare.js'
import {processesUsing} from '../init/processes.js'
import {planOf, type PlanEntry, type Step} from '../runbook/engine.js'
import {systemdQuote} from '../schedule/files.js'
import {appendEvent} from '../state/events.js'
import {HistoryStore} from '../state/history.js'
import type {Deps} from '../system/deps.js'
import {commandLine, runChecked} from '../system/runner.js'
import {loadTemplate, renderTemplate} from '../system/templates.js'
import type {Finding} from '../storage/verdict.js'
import {mountOf, parseMountInfo} from '../storage/mounts.js'
import {removeStaleSocket} from './heal.js'
import {CHIRONFS_INSTALL_HINT, chironctlFor, findProgram, mountCommand, mountUnitName, unmountCommand, type MountSettings} from './mount.js'
import {assessNfsMount} from './nfs.js'
import {describeOverlap, overlapsOnDisk} from './replica-paths.js'
import {formatReplica, notData, parseReplica, SCOPE, type Replica} from './replicas.js'
import {recordVerifiedTree} from './verified.js'

/** Everything `init --chironfs` decided before it touched anything; kept in the journal. */
export interface ChironfsInitContext {
  mount: MountSettings
  owner: {user: string; group: string}
  /** The data directory has content to move into the replicas. */
  migrate: boolean
  originalKeptAt: string
  unit: {path: string; name: string; content: string; enable: boolean}
  configPath: string
  previousConfig: string | null
  newConfig: string
  stateDir: string
}

export interface ChironfsInitRequest {
  replicas: string[]
  dataDir?: string
  user?: string
  group?: string
  configPath: string
  stateDir: string
  binary: string
  controlSocket: string
  log: string
  systemdDir: string
  nodeUnit: string
  /** Whether systemd runs this machine: only then does lnstore enable the unit. */
  systemdRunning: boolean
}

const refusal = (device: string, reason: string, wayOut: string): Refusal => ({device, reason, wayOut, forceable: false})

/** Looks at the machine and decides everything `init --chironfs` will do; touches nothing. */
export async function prepareChironfsInit(deps: Deps, request: ChironfsInitRequest): Promise<{context: ChironfsInitContext; steps: Step<ChironfsInitContext>[]; plan: PlanEntry[]; notes: string[]}> {
  const refusals: Refusal[] = []
  const notes: string[] = []
  const binary = await findProgram(request.binary)
  if (!binary) refusals.push(refusal(request.binary, 'ChironFS is not installed (no such program)', CHIRONFS_INSTALL_HINT))
  else if (!(await findProgram(chironctlFor(binary)))) notes.push(`WARNING: chironctl is not installed beside ${binary}: lnstore status cannot ask ChironFS which replicas it disabled (it still reads the log)`)
  if (!(await access('/dev/fuse').then(() => true, () => false))) refusals.push(refusal('/dev/fuse', 'FUSE is not available', 'apt-get install -y fuse, and load the module: modprobe fuse'))
  if (!(await findProgram('fusermount'))) refusals.push(refusal('fusermount', 'is not installed (ChironFS is unmounted with it)', 'apt-get install -y fuse'))

  const owner = await resolveOwner(deps, request)
  const dataDir = request.dataDir ?? join(owner.home, '.lightning')
  const replicas = request.replicas.map(parseReplica)
  if (replicas.length < 2) refusals.push(refusal('--replica', 'ChironFS needs at least two replicas to keep a second copy', 'give --replica twice: a local directory and, with a leading colon, one on the NFS share (--replica /data/ln --replica :/mnt/nfs/ln)'))
  const mounts = parseMountInfo(await deps.readFile('/proc/self/mountinfo'))
  const devices = new Map<string, string[]>()
  for (const replica of replicas) {
    if (replica.path === dataDir || replica.path.startsWith(`${dataDir}/`) || dataDir.startsWith(`${replica.path}/`)) refusals.push(refusal(replica.path, `overlaps the data directory ${dataDir}`, 'keep the replicas outside the data directory (ChironFS is mounted there)'))
    if (!replica.path.startsWith('/')) refusals.push(refusal(replica.path, 'is not an absolute path', 'give the full path'))
    if (!(await isEmptyOrMissing(replica.path))) refusals.push(refusal(replica.path, 'exists and is not empty', 'give an empty or new directory: init copies the node data into each replica'))
    const parent = await nearestExisting(replica.path)
    const info = await stat(parent).catch(() => null)
    if (info) devices.set(String(info.dev), [...(devices.get(String(info.dev)) ?? []), replica.path])
    const mount = mountOf(parent, mounts)
    const findings: Finding[] = mount ? assessNfsMount(replica.path, mount) : []
    for (const finding of findings) notes.push(`WARNING: ${finding.message}. Fix: ${finding.next}`)
    if (mount && findings.length === 0 && /^nfs4?$/.test(mount.fsType)) notes.push(`${replica.path} is on NFS (${mount.source}) with sound options`)
    if (mount && /^nfs4?$/.test(mount.fsType) && !replica.slow) notes.push(`WARNING: ${replica.path} is on NFS: mark it slow (--replica :${replica.path}) so that ChironFS reads locally`)
  }

  const overlaps = await overlapsOnDisk(replicas.map((replica) => replica.path))
  for (const overlap of overlaps) refusals.push(refusal(overlap.second, `${describeOverlap(overlap)}: ChironFS would keep one copy where lnstore counts two`, 'give each replica as its own directory, none inside another, each on its own disk'))
  for (const paths of devices.values()) if (paths.length > 1 && overlaps.length === 0) notes.push(`WARNING: replicas ${paths.join(' and ')} are on the same filesystem: one disk failure loses both, so the second copy protects nothing`)
  if (mounts.some((mount) => mount.mountPoint === dataDir)) refusals.push(refusal(dataDir, 'is already a mount point', 'unmount it, or point --data-dir at the node\'s real data directory'))
  const migrate = !(await isEmptyOrMissing(dataDir))
  if (migrate) {
    const users = await processesUsing(dataDir)
    if (users.length > 0) refusals.push(refusal(dataDir, `is in use by ${users.map((user) => `${user.command} (pid ${user.pid})`).join(', ')}: its data must not change while it is copied`, 'stop the Lightning node first, then run init again'))
    const sockets = (await describeTree(dataDir, {hash: false})).filter((entry) => entry.type === 'socket')
    notes.push(`${dataDir} has data: it is copied into every replica and verified, then kept as ${dataDir}.pre-lnstore-<time> (remove it yourself once the node runs well)`)
    if (sockets.length > 0) notes.push(`ChironFS cannot hold a socket: start lightningd with rpc-file= outside ${dataDir} (for example /run/lightningd/lightning-rpc) and set node.rpcFile in lnstore's config to it`)
  }

  if (refusals.length > 0) throw new Refused('init', refusals)

  const stamp = new Date(deps.now()).toISOString().replaceAll(/[-:]/g, '').slice(0, 15)
  const mount: MountSettings = {binary: binary!, replicas, mountpoint: dataDir, controlSocket: request.controlSocket, log: request.log}
  const previousConfig = await deps.readFile(request.configPath).catch(() => null)
  const name = mountUnitName(dataDir)
  const context: ChironfsInitContext = {
    mount,
    owner: {user: owner.user, group: owner.group},
    migrate,
    originalKeptAt: `${dataDir}.pre-lnstore-${stamp}`,
    unit: {path: join(request.systemdDir, name), name, content: await unitText(mount, request.nodeUnit), enable: request.systemdRunning},
    configPath: request.configPath,
    previousConfig,
    newConfig: await updatedConfigText(request.configPath, previousConfig, (current) => ({
      ...current,
      mode: 'chironfs',
      dataDir,
      chironfs: {...current.chironfs, replicas: request.replicas, controlSocket: request.controlSocket, log: request.log, binary: binary!},
      node: {...current.node, user: owner.user},
    })),
    stateDir: request.stateDir,
  }
  notes.push('lightningd must not create its JSON-RPC socket in the data directory (ChironFS cannot hold one): set rpc-file= outside it, and node.rpcFile in the config')
  const steps = chironfsInitSteps(deps, context)
  return {context, steps, plan: planOf(steps), notes}
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    if (await lstat(current).then(() => true, () => false)) return current
    if (current === dirname(current)) return current
  }
}

/** The systemd service that mounts ChironFS at boot, before the node, from templates/systemd/lnstore-chironfs.service. */
export async function unitText(mount: MountSettings, nodeUnit: string): Promise<string> {
  const quote = (path: string) => systemdQuote(path)
  return renderTemplate(await loadTemplate('systemd/lnstore-chironfs.service'), {
    mountpoint: quote(mount.mountpoint),
    nodeUnit,
    replicaDirs: mount.replicas.map((replica) => quote(replica.path)).join(' '),
    controlSocket: quote(mount.controlSocket),
    controlSocketDir: quote(dirname(mount.controlSocket)),
    logDir: quote(dirname(mount.log)),
    mountCommand: mountCommand(mount).map(systemdQuote).join(' '),
  })
}

/** The steps of `lnstore init --chironfs`, each safe to run twice. */
export function chironfsInitSteps(deps: Deps, context: ChironfsInitContext): Step<ChironfsInitContext>[] {
  const {mount} = context
  const replicaList = mount.replicas.map((replica: Replica) => replica.path).join(', ')
  const chown = (path: string, ctx: ChironfsInitContext) => runChecked(deps.runner, ['chown', `${ctx.owner.user}:${ctx.owner.group}`, path])
  const mounted = async (ctx: ChironfsInitContext) => parseMountInfo(await deps.readFile('/proc/self/mountinfo')).some((entry) => entry.mountPoint === ctx.mount.mountpoint)
  const steps: Step<ChironfsInitContext>[] = [
    {
      id: 'replicas',
      title: `Create the replica directories ${replicaList}`,
      commands: mount.replicas.map((replica) => ['mkdir', '-p', replica.path]),
      async run(ctx) {
        for (const replica of ctx.mount.replicas) {
          await mkdir(replica.path, {recursive: true})
          await chown(replica.path, ctx)
        }
      },
      undo: {
        title: 'Remove the replica directories (they hold only copies)',
        commands: mount.replicas.map((replica) => ['rm', '-r', replica.path]),
        async run(ctx) {
          for (const replica of ctx.mount.replicas) await rm(replica.path, {recursive: true, force: true}).catch(async () => {
            // A replica that is itself a mount point (an NFS export's root) cannot go: empty it.
            for (const name of await readdir(replica.path)) await rm(join(replica.path, name), {recursive: true, force: true})
          })
        },
      },
    },
  ]
  if (context.migrate) {
    steps.push(
      {
        id: 'copy',
        title: `Copy ${mount.mountpoint} into every replica, verified by SHA-256`,
        commands: [],
        detail: 'copy every file keeping owners, modes, symlinks and times (sockets are not data), then compare each replica with the original file by file',
        async run(ctx, report) {
          const users = await processesUsing(ctx.mount.mountpoint)
          if (users.length > 0) throw new Error(`${ctx.mount.mountpoint} is in use by ${users.map((user) => `${user.command} (pid ${user.pid})`).join(', ')}: stop the Lightning node first`)
          const original = await describeTree(ctx.mount.mountpoint)
          for (const replica of ctx.mount.replicas) {
            const copied = await copyTree(ctx.mount.mountpoint, replica.path, undefined, notData)
            const differences = compareTrees(original, await describeTree(replica.path, {skip: notData}))
            if (differences.length > 0) throw new Error(`${replica.path} differs from the original in ${differences.length} places, first: ${differences.slice(0, 3).join('; ')}`)
            report(`${replica.path}: ${copied.files} files, ${copied.bytes} bytes, identical`)
          }

          // What a later comparison tells an intact copy by (ChironFS keeps no checksums).
          await recordVerifiedTree(ctx.stateDir, original.filter((entry) => !notData(basename(entry.path))), deps.now(), 'init')
        },
      },
      {
        id: 'set-aside',
        title: `Keep the original as ${context.originalKeptAt}`,
        commands: [['mv', mount.mountpoint, context.originalKeptAt], ['mkdir', mount.mountpoint]],
        async run(ctx) {
          if (await isEmptyOrMissing(ctx.originalKeptAt)) await rename(ctx.mount.mountpoint, ctx.originalKeptAt)
          await mkdir(ctx.mount.mountpoint, {recursive: true})
        },
        undo: {
          title: `Put the original ${context.mount.mountpoint} back`,
          commands: [['mv', context.originalKeptAt, mount.mountpoint]],
          async run(ctx) {
            if (await isEmptyOrMissing(ctx.originalKeptAt)) return
            if (await isEmptyOrMissing(ctx.mount.mountpoint)) await rm(ctx.mount.mountpoint, {recursive: true, force: true})
            await rename(ctx.originalKeptAt, ctx.mount.mountpoint)
          },
        },
      },
    )
  }

  steps.push(
    {
      id: 'mount',
      title: `Mount ChironFS at ${mount.mountpoint} (log ${mount.log}, control socket ${mount.controlSocket})`,
      commands: [['mkdir', '-p', mount.mountpoint, dirname(mount.controlSocket), dirname(mount.log)], mountCommand(mount)],
      async run(ctx) {
        if (await mounted(ctx)) return
        for (const dir of [ctx.mount.mountpoint, dirname(ctx.mount.controlSocket), dirname(ctx.mount.log)]) await mkdir(dir, {recursive: true})
        await chown(ctx.mount.mountpoint, ctx)
        await removeStaleSocket(ctx.mount.controlSocket)
        await runChecked(deps.runner, mountCommand(ctx.mount), {timeoutMs: 30_000})
        await new Promise((resolve) => setTimeout(resolve, 200))
        if (!(await mounted(ctx)) || !(await readdir(ctx.mount.mountpoint).then(() => true, () => false))) {
          throw new Error(`${commandLine(mountCommand(ctx.mount))} returned, but ${ctx.mount.mountpoint} does not answer: see ${ctx.mount.log}`)
        }
      },
      undo: {
        title: `Unmount ChironFS from ${mount.mountpoint}`,
        commands: [unmountCommand(mount.mountpoint)],
        async run(ctx) {
          if (await mounted(ctx)) await runChecked(deps.runner, unmountCommand(ctx.mount.mountpoint))
        },
      },
    },
  )
  if (context.migrate) {
    steps.push({
      id: 'verify-mount',
      title: 'Verify the data through the mount, file by file',
      commands: [],
      detail: `compare every file under ${mount.mountpoint} (through ChironFS) with ${context.originalKeptAt} by SHA-256`,
      async run(ctx, report) {
        const differences = compareTrees(await describeTree(ctx.originalKeptAt), await describeTree(ctx.mount.mountpoint))
        if (differences.length > 0) throw new Error(`the mount differs from the original in ${differences.length} places, first: ${differences.slice(0, 3).join('; ')}`)
        report('identical')
      },
    })
  }

  steps.push(
    {
      id: 'unit',
      title: `Install the systemd unit ${context.unit.name} (mounts ChironFS at boot, before the node)`,
      commands: context.unit.enable ? [['systemctl', 'daemon-reload'], ['systemctl', 'enable', context.unit.name]] : [],
      detail: `write ${context.unit.path}${context.unit.enable ? '' : ' (systemd does not run here: not enabled)'}`,
      async run(ctx) {
        await mkdir(dirname(ctx.unit.path), {recursive: true})
        await writeFile(ctx.unit.path, ctx.unit.content)
        if (ctx.unit.enable) {
          await runChecked(deps.runner, ['systemctl', 'daemon-reload'])
          await runChecked(deps.runner, ['systemctl', 'enable', ctx.unit.name])
        }
      },
      undo: {
        title: `Remove ${context.unit.path}`,
        commands: [],
        async run(ctx) {
          if (ctx.unit.enable) await deps.runner.run(['systemctl', 'disable', ctx.unit.name])
          await unlink(ctx.unit.path).catch(() => {})
        },
      },
    },
    writeConfigStep(context, `mode chironfs, dataDir ${mount.mountpoint}, replicas ${context.mount.replicas.map(formatReplica).join(' ')}, node user ${context.owner.user}`),
    {
      id: 'record',
      title: "Record the new mount in lnstore's history",
      commands: [],
      detail: `append a "chironfs-created" event to ${context.stateDir}/events.json, and the replicas (verified copies, or empty) as a clean full comparison in the history`,
      async run(ctx) {
        const at = deps.now()
        // Every replica was compared with the original file by file (or starts empty): a clean full comparison, as after a heal.
        await new HistoryStore(ctx.stateDir).recordScrub({pool: SCOPE, startedAt: at, endedAt: at, durationSeconds: 0, errors: 0, devices: []}, at)
        await appendEvent(ctx.stateDir, {at, kind: 'chironfs-created', pool: SCOPE, detail: {replicas: ctx.mount.replicas, dataDir: ctx.mount.mountpoint}})
      },
    },
  )
  return steps
}
