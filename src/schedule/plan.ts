import {readFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import type {Config} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import {assertRootOwned, LNSTORE_BIN, lnstoreTargets} from '../system/trust.js'
import type {SchedulePlan, Step} from './apply.js'
import {nextEvery, nextWeekly, weekly, type Weekday} from './calendar.js'
import {debianScrubSteps, exists, otherScrubJobs, restoreSteps} from './debian.js'
import {ENABLED_UNITS, renderFiles, scheduledScrub, ZEDLET, type ScheduleKind, type SchedulePaths, type ScheduleSpec} from './files.js'
import {manifestPath, readManifest, removedCopyPath, sameInstall, sha256, type ScheduleManifest} from './manifest.js'

/**
 * The planner of `lnstore schedule install|remove|show`: what to write, run and remove, as steps
 * that `--dry-run` prints and apply.ts carries out; the manifest (manifest.ts) lets `remove` take
 * back exactly what install did.
 */

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
  /** The config file the units will read (checked, with lnstore itself, for being root's alone). */
  configFile?: string | null
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

/** A request install cannot carry out as asked (a file it did not write is in the way, no ZED directory). */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ScheduleError'
  }
}

/** LNSTORE_CONFIG and LNSTORE_STATE_DIR for the units, when install was pointed away from the defaults. */
export function unitEnvironment(configFile: string | undefined, config: Config, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    ...(configFile ? {LNSTORE_CONFIG: resolve(configFile)} : {}),
    ...(!config.stateDir && env.LNSTORE_STATE_DIR ? {LNSTORE_STATE_DIR: resolve(env.LNSTORE_STATE_DIR)} : {}),
  }
}

export async function cronInstalled(): Promise<boolean> {
  return (await Promise.all(['/usr/sbin/cron', '/usr/sbin/crond', '/usr/bin/crond'].map(exists))).some(Boolean)
}

export async function planInstall(deps: Deps, options: InstallOptions): Promise<SchedulePlan> {
  const {paths, systemdRunning, config} = options
  // Root will run this node, this lnstore and this config every hour: they must be root's alone.
  assertRootOwned(lnstoreTargets(options.configFile, true), 'install the schedule')
  const kind = options.kind ?? (systemdRunning ? 'systemd' : 'cron')
  const zedDirExists = await exists(paths.zedDir)
  if (options.zed === true && !zedDirExists) throw new ScheduleError(`there is no ZED zedlet directory at ${paths.zedDir} (is zfs-zed installed?); name it with --zed-dir, or leave the zedlet out with --no-zed`)
  const spec: ScheduleSpec = {
    kind,
    scrub: weekly(options.day ?? config.schedule.scrubDay, options.time ?? config.schedule.scrubTime),
    randomDelayMinutes: options.randomDelayMinutes ?? config.schedule.randomDelayMinutes,
    checkEverySeconds: config.schedule.checkIntervalMinutes * 60,
    command: [process.execPath, LNSTORE_BIN],
    environment: options.environment,
    zedlet: options.zed ?? zedDirExists,
    host: hostname(),
    stateDir: options.stateDir,
    config,
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

  steps.push(...(await removals(stale, options.stateDir, notes)))
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
  const removed = await removals(manifest.files, environment.stateDir, notes)
  steps.push(...removed)
  const paths = removed.flatMap((step) => (step.kind === 'remove' ? [step.path] : []))
  if (environment.systemdRunning && paths.some((path) => path.endsWith('.service') || path.endsWith('.timer'))) steps.push({kind: 'run', argv: ['systemctl', 'daemon-reload']})
  if (environment.systemdRunning && paths.some((path) => path.endsWith(`/${ZEDLET}`))) steps.push(...(await zedReload(deps)))
  steps.push(...(await restoreSteps(deps, manifest.properties, notes)))
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

/**
 * Remove steps for files install wrote. A file changed by hand since goes too (a timer left behind
 * would keep scrubbing, or point at a service that is gone), after a copy is kept in the state directory.
 */
async function removals(entries: ScheduleManifest['files'], stateDir: string, notes: string[]): Promise<Step[]> {
  const steps: Step[] = []
  for (const entry of entries) {
    const content = await readFile(entry.path, 'utf8').catch(() => null)
    if (content === null) continue
    if (sha256(content) === entry.sha256) {
      steps.push({kind: 'remove', path: entry.path})
    } else {
      const copy = removedCopyPath(stateDir, entry.path)
      steps.push({kind: 'remove', path: entry.path, keepCopy: {path: copy, content}})
      notes.push(`${entry.path} was changed since lnstore wrote it: removed all the same, your version is kept in ${copy}`)
    }
  }

  return steps
}

async function zedReload(deps: Deps): Promise<Step[]> {
  // ZED reads its zedlet directory at start and on SIGHUP.
  const active = await deps.runner.run(['systemctl', 'is-active', '--quiet', 'zfs-zed.service'])
  return active.exitCode === 0 ? [{kind: 'run', argv: ['systemctl', 'kill', '--signal=HUP', 'zfs-zed.service']}] : []
}

async function asyncFilter<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept = await Promise.all(items.map(keep))
  return items.filter((_, index) => kept[index])
}
