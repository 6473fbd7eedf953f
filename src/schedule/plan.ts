import {createHash} from 'node:crypto'
import {access, chmod, mkdir, readdir, readFile, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Config} from '../config/schema.js'
import {readJsonFile, writeFileAtomically, writeJsonAtomically} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {Zpool} from '../zfs/zpool.js'
import {nextEvery, nextWeekly, weekly, type Weekday, type Weekly} from './calendar.js'
import {ENABLED_UNITS, renderFiles, scheduledScrub, ZEDLET, type ScheduleKind, type SchedulePaths, type ScheduleSpec} from './files.js'

/**
 * `lnstore schedule install|remove|show`: what to write, run and remove, as a plan of steps that
 * `--dry-run` prints and `apply` carries out. A manifest in the state directory records exactly
 * what install wrote (and the pool properties it changed, with their previous values), so that
 * `remove` takes back exactly that and nothing else.
 */

export type Step =
  | {kind: 'write'; path: string; content: string; mode: number}
  | {kind: 'remove'; path: string}
  | {kind: 'run'; argv: string[]}
  | {kind: 'manifest'; path: string; manifest: ScheduleManifest | null}

export interface PropertyChange {
  pool: string
  property: string
  /** As `zfs get -o value,source` printed it before lnstore changed it. */
  previous: {value: string; source: string}
}

export interface ScheduleManifest {
  version: 1
  kind: ScheduleKind
  installedAt: number
  /** When the scrub runs: for cron with this machine's fixed delay; timers add a random delay of up to randomDelayMinutes. */
  scrub: Weekly
  randomDelayMinutes: number
  checkEverySeconds: number
  files: {path: string; sha256: string}[]
  /** systemd units install enabled. */
  units: string[]
  properties: PropertyChange[]
}

export interface SchedulePlan {
  steps: Step[]
  /** What the operator should know: other scrub jobs found, units not enabled, files left in place. */
  notes: string[]
  /** The manifest as it will be after the steps (null after remove). */
  manifest: ScheduleManifest | null
}

export interface ScheduleEnvironment {
  paths: SchedulePaths
  stateDir: string
  /** Whether systemd runs this machine (/run/systemd/system exists): only then does lnstore run systemctl. */
  systemdRunning: boolean
  /** Whether a cron daemon is installed to read /etc/cron.d. */
  cronInstalled: boolean
}

export interface InstallOptions extends ScheduleEnvironment {
  config: Config
  kind?: ScheduleKind
  /** Install the zedlet: true (required), false (never), undefined (where the ZED directory exists). */
  zed?: boolean
  day?: Weekday
  time?: string
  randomDelayMinutes?: number
  /** Pools whose Debian periodic scrub to turn off; default: the config's, else every imported pool. */
  pools: string[]
  environment: Record<string, string>
}

const DEBIAN_CRON = 'zfsutils-linux'
const DEBIAN_PROPERTY = 'org.debian:periodic-scrub'
const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

/** A request install cannot carry out as asked (a file it did not write is in the way, no ZED directory). */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ScheduleError'
  }
}

function manifestPath(stateDir: string): string {
  return join(stateDir, 'schedule.json')
}

async function readManifest(stateDir: string): Promise<ScheduleManifest | null> {
  return readJsonFile<ScheduleManifest | null>(manifestPath(stateDir), null)
}

/** LNSTORE_CONFIG and LNSTORE_STATE_DIR for the units, when install was pointed away from the defaults. */
export function unitEnvironment(configFile: string | undefined, config: Config, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    ...(configFile ? {LNSTORE_CONFIG: resolve(configFile)} : {}),
    ...(!config.stateDir && env.LNSTORE_STATE_DIR ? {LNSTORE_STATE_DIR: resolve(env.LNSTORE_STATE_DIR)} : {}),
  }
}

export async function systemdRuns(): Promise<boolean> {
  return exists('/run/systemd/system')
}

export async function cronInstalled(): Promise<boolean> {
  return (await Promise.all(['/usr/sbin/cron', '/usr/sbin/crond', '/usr/bin/crond'].map(exists))).some(Boolean)
}

export async function planInstall(deps: Deps, options: InstallOptions): Promise<SchedulePlan> {
  const {paths, systemdRunning, config} = options
  const kind = options.kind ?? (systemdRunning ? 'systemd' : 'cron')
  const zedDirExists = await exists(paths.zedDir)
  if (options.zed === true && !zedDirExists) throw new ScheduleError(`there is no ZED zedlet directory at ${paths.zedDir} (is zfs-zed installed?); name it with --zed-dir, or leave the zedlet out with --no-zed`)
  const spec: ScheduleSpec = {
    kind,
    scrub: weekly(options.day ?? config.schedule.scrubDay, options.time ?? config.schedule.scrubTime),
    randomDelayMinutes: options.randomDelayMinutes ?? config.schedule.randomDelayMinutes,
    checkEverySeconds: config.schedule.checkIntervalMinutes * 60,
    command: [process.execPath, BIN],
    environment: options.environment,
    zedlet: options.zed ?? zedDirExists,
    host: hostname(),
  }
  const previous = await readManifest(options.stateDir)
  const files = await renderFiles(spec, paths)
  const steps: Step[] = []
  const notes: string[] = []
  const written = new Set<string>()

  for (const file of files) {
    const current = await readFile(file.path, 'utf8').catch(() => null)
    if (current === file.content) continue
    if (current !== null && !previous?.files.some((entry) => entry.path === file.path)) {
      throw new ScheduleError(`${file.path} exists and was not written by lnstore; move it away (or remove it), then run \`lnstore schedule install\` again`)
    }

    steps.push({kind: 'write', path: file.path, content: file.content, mode: file.mode})
    written.add(file.path)
  }

  const stale = (previous?.files ?? []).filter((entry) => !files.some((file) => file.path === entry.path))
  const staleUnits = (previous?.units ?? []).filter((unit) => !(ENABLED_UNITS[kind] as readonly string[]).includes(unit))
  const units = [...ENABLED_UNITS[kind]]
  if (systemdRunning) {
    if (staleUnits.length > 0) steps.unshift({kind: 'run', argv: ['systemctl', 'disable', '--now', ...staleUnits]})
  } else if (units.length > 0) {
    notes.push(`systemd is not running here: the units are written but not enabled; once it runs: systemctl daemon-reload && systemctl enable --now ${units.join(' ')}`)
  }

  if (kind === 'cron' && !options.cronInstalled) {
    notes.push('no cron daemon is installed here, so the cron file does nothing until one is (apt install cron); or run `lnstore monitor` as a service instead')
  }

  steps.push(...(await removals(stale, notes)))
  const unitChanged = [...written, ...stale.map((entry) => entry.path)].some((path) => dirname(path) === paths.systemdDir)
  if (systemdRunning && unitChanged) steps.push({kind: 'run', argv: ['systemctl', 'daemon-reload']})
  if (systemdRunning && units.length > 0) {
    const disabled = await asyncFilter(units, async (unit) => (await deps.runner.run(['systemctl', 'is-enabled', '--quiet', unit])).exitCode !== 0)
    if (disabled.length > 0) steps.push({kind: 'run', argv: ['systemctl', 'enable', '--now', ...disabled]})
    const changed = units.filter((unit) => !disabled.includes(unit) && written.has(join(paths.systemdDir, unit)))
    if (changed.length > 0) steps.push({kind: 'run', argv: ['systemctl', 'restart', ...changed]})
  }

  if (systemdRunning && (written.has(join(paths.zedDir, ZEDLET)) || stale.some((entry) => entry.path === join(paths.zedDir, ZEDLET)))) steps.push(...(await zedReload(deps)))

  const properties = await debianScrubSteps(deps, options, previous?.properties ?? [], steps, notes)
  notes.push(...(await otherScrubJobs(paths)))
  const manifest: ScheduleManifest = {
    version: 1,
    kind,
    installedAt: deps.now(),
    scrub: scheduledScrub(spec),
    randomDelayMinutes: spec.randomDelayMinutes,
    checkEverySeconds: spec.checkEverySeconds,
    files: files.map((file) => ({path: file.path, sha256: sha256(file.content)})),
    units: systemdRunning ? units : [],
    properties,
  }
  if (steps.length > 0 || !sameInstall(previous, manifest)) steps.push({kind: 'manifest', path: manifestPath(options.stateDir), manifest})
  return {steps, notes, manifest}
}

export async function planRemove(deps: Deps, environment: ScheduleEnvironment): Promise<SchedulePlan> {
  const manifest = await readManifest(environment.stateDir)
  if (!manifest) return {steps: [], notes: [`nothing to remove: lnstore has no record of an install (${manifestPath(environment.stateDir)})`], manifest: null}
  const steps: Step[] = []
  const notes: string[] = []
  if (environment.systemdRunning && manifest.units.length > 0) steps.push({kind: 'run', argv: ['systemctl', 'disable', '--now', ...manifest.units]})
  const removed = await removals(manifest.files, notes)
  steps.push(...removed)
  const paths = removed.flatMap((step) => (step.kind === 'remove' ? [step.path] : []))
  if (environment.systemdRunning && paths.some((path) => path.endsWith('.service') || path.endsWith('.timer'))) steps.push({kind: 'run', argv: ['systemctl', 'daemon-reload']})
  if (environment.systemdRunning && paths.some((path) => path.endsWith(`/${ZEDLET}`))) steps.push(...(await zedReload(deps)))
  for (const change of manifest.properties) {
    const current = await getProperty(deps, change.pool, change.property)
    if (current === null) {
      notes.push(`pool ${change.pool} is not imported: set ${change.property} back by hand once it is (it was ${describeValue(change.previous)})`)
    } else if (current.value !== 'disable' || current.source !== 'local') {
      notes.push(`${change.property} on ${change.pool} was changed since install (now ${describeValue(current)}): left as it is`)
    } else {
      steps.push({kind: 'run', argv: restoreArgv(change)})
    }
  }

  steps.push({kind: 'manifest', path: manifestPath(environment.stateDir), manifest: null})
  return {steps, notes, manifest: null}
}

export interface ScheduleShow {
  installed: ScheduleManifest | null
  files: {path: string; state: 'as written' | 'changed' | 'missing'}[]
  /** Epoch ms of the next weekly scrub (timers add their random delay to it) and the next health check. */
  next: {scrub: number; check: number} | null
  notes: string[]
}

export async function showSchedule(deps: Deps, environment: ScheduleEnvironment): Promise<ScheduleShow> {
  const installed = await readManifest(environment.stateDir)
  const notes = await otherScrubJobs(environment.paths)
  if (!installed) return {installed, files: [], next: null, notes}
  const files = await Promise.all(
    installed.files.map(async (entry) => {
      const content = await readFile(entry.path, 'utf8').catch(() => null)
      return {path: entry.path, state: content === null ? ('missing' as const) : sha256(content) === entry.sha256 ? ('as written' as const) : ('changed' as const)}
    }),
  )
  const now = deps.now()
  if (installed.kind !== 'cron' && installed.units.length === 0) notes.push(`the units are not enabled (systemd did not run at install): systemctl enable --now ${ENABLED_UNITS[installed.kind].join(' ')}`)
  return {installed, files, next: {scrub: nextWeekly(now, installed.scrub), check: nextEvery(now, installed.checkEverySeconds)}, notes}
}

/** Carries out the steps in order. The manifest first lists every file the run may leave behind, so a crash halfway never orphans one. */
export async function applyPlan(deps: Deps, plan: SchedulePlan, stateDir: string, onStep: (step: Step) => void): Promise<void> {
  const final = plan.steps.find((step) => step.kind === 'manifest')
  const previous = await readManifest(stateDir)
  if (final?.manifest && previous) {
    const files = [...final.manifest.files, ...previous.files.filter((entry) => !final.manifest!.files.some((file) => file.path === entry.path))]
    await mkdir(stateDir, {recursive: true})
    await writeJsonAtomically(manifestPath(stateDir), {...final.manifest, files, units: [...new Set([...previous.units, ...final.manifest.units])]})
  } else if (final?.manifest) {
    await mkdir(stateDir, {recursive: true})
    await writeJsonAtomically(manifestPath(stateDir), final.manifest)
  }

  for (const step of plan.steps) {
    onStep(step)
    if (step.kind === 'write') {
      await mkdir(dirname(step.path), {recursive: true})
      await writeFileAtomically(step.path, step.content)
      await chmod(step.path, step.mode)
    } else if (step.kind === 'remove') {
      await unlink(step.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    } else if (step.kind === 'run') {
      await runChecked(deps.runner, step.argv)
    } else if (step.manifest) {
      await writeJsonAtomically(step.path, step.manifest)
    } else {
      await unlink(step.path).catch(() => {})
    }
  }
}

/** Remove steps for files install wrote; one changed since is left in place, with a note. */
async function removals(entries: ScheduleManifest['files'], notes: string[]): Promise<Step[]> {
  const steps: Step[] = []
  for (const entry of entries) {
    const content = await readFile(entry.path, 'utf8').catch(() => null)
    if (content === null) continue
    if (sha256(content) === entry.sha256) steps.push({kind: 'remove', path: entry.path})
    else notes.push(`${entry.path} was changed since lnstore wrote it: left in place; remove it by hand if it is no longer wanted`)
  }

  return steps
}

/**
 * Debian and Ubuntu's /etc/cron.d/zfsutils-linux scrubs every healthy pool on the second Sunday of
 * the month unless the pool's root dataset says org.debian:periodic-scrub=disable. With lnstore's
 * weekly scrub that would be a second one: lnstore sets the property, and remove restores it.
 */
async function debianScrubSteps(deps: Deps, options: InstallOptions, recorded: PropertyChange[], steps: Step[], notes: string[]): Promise<PropertyChange[]> {
  const cronFile = join(options.paths.cronDir, DEBIAN_CRON)
  if (!(await exists(cronFile))) return recorded
  const pools = options.pools.length > 0 ? options.pools : options.config.pools.length > 0 ? options.config.pools : (await new Zpool(deps.runner).capacity()).map((pool) => pool.name)
  const changes = [...recorded]
  for (const pool of pools) {
    const current = await getProperty(deps, pool, DEBIAN_PROPERTY)
    if (current === null) {
      notes.push(`cannot read ${DEBIAN_PROPERTY} of pool ${pool}: ${cronFile} may scrub it a second time each month`)
      continue
    }

    if (current.value === 'disable' && current.source === 'local') continue
    steps.push({kind: 'run', argv: ['zfs', 'set', `${DEBIAN_PROPERTY}=disable`, pool]})
    if (!changes.some((change) => change.pool === pool)) changes.push({pool, property: DEBIAN_PROPERTY, previous: current})
    notes.push(`${cronFile} scrubs ${pool} on the second Sunday of each month too: lnstore turns that off for ${pool} (${DEBIAN_PROPERTY}=disable); \`lnstore schedule remove\` turns it back on`)
  }

  return changes
}

/** OpenZFS 2.1.3+ ships opt-in scrub timers; report enabled ones (lnstore does not touch them). And ZED's own mail. */
async function otherScrubJobs(paths: SchedulePaths): Promise<string[]> {
  const notes: string[] = []
  const wants = await readdir(join(paths.systemdDir, 'timers.target.wants')).catch(() => [])
  for (const unit of wants) {
    const match = /^zfs-scrub-(weekly|monthly)@(.+)\.timer$/.exec(unit)
    if (match) {
      notes.push(`OpenZFS's ${unit} is enabled and scrubs pool ${match[2]} ${match[1]} too; keep one scrub schedule: systemctl disable --now ${unit}`)
    }
  }

  const zedrc = await readFile(join(paths.zedDir, 'zed.rc'), 'utf8').catch(() => '')
  const mail = /^\s*ZED_EMAIL_ADDR=(.*)$/m.exec(zedrc)
  if (mail) {
    notes.push(`ZED mails ${mail[1].replaceAll('"', '')} about ZFS events itself (ZED_EMAIL_ADDR in ${join(paths.zedDir, 'zed.rc')}); to keep lnstore the one channel, comment that line out and restart ZED: systemctl restart zfs-zed`)
  }

  return notes
}

async function getProperty(deps: Deps, pool: string, property: string): Promise<{value: string; source: string} | null> {
  const result = await deps.runner.run(['zfs', 'get', '-H', '-o', 'value,source', property, pool])
  if (result.exitCode !== 0) return null
  const [value = '-', source = '-'] = result.stdout.trim().split('\t')
  return {value, source}
}

function restoreArgv(change: PropertyChange): string[] {
  return change.previous.source === 'local' ? ['zfs', 'set', `${change.property}=${change.previous.value}`, change.pool] : ['zfs', 'inherit', change.property, change.pool]
}

function describeValue(value: {value: string; source: string}): string {
  return value.source === 'local' ? `"${value.value}"` : value.value === '-' ? 'not set' : `"${value.value}" (${value.source})`
}

async function zedReload(deps: Deps): Promise<Step[]> {
  // ZED reads its zedlet directory at start and on SIGHUP.
  const active = await deps.runner.run(['systemctl', 'is-active', '--quiet', 'zfs-zed.service'])
  return active.exitCode === 0 ? [{kind: 'run', argv: ['systemctl', 'kill', '--signal=HUP', 'zfs-zed.service']}] : []
}

function sameInstall(previous: ScheduleManifest | null, next: ScheduleManifest): boolean {
  if (!previous) return false
  const {installedAt: _a, ...a} = previous
  const {installedAt: _b, ...b} = next
  return JSON.stringify(a) === JSON.stringify(b)
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

async function asyncFilter<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept = await Promise.all(items.map(keep))
  return items.filter((_, index) => kept[index])
}
