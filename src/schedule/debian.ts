import {access, readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {Config} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import {Zpool} from '../zfs/zpool.js'
import type {Step} from './apply.js'
import type {SchedulePaths} from './files.js'
import type {PropertyChange} from './manifest.js'

/**
 * The other scrub jobs a Debian or Ubuntu machine already has: zfsutils-linux's monthly cron job
 * (which lnstore turns off per pool, and `remove` turns back on), OpenZFS's opt-in scrub timers and
 * ZED's own mail (both reported, not touched).
 */

const DEBIAN_CRON = 'zfsutils-linux'
const DEBIAN_PROPERTY = 'org.debian:periodic-scrub'

/**
 * /etc/cron.d/zfsutils-linux scrubs every healthy pool on the second Sunday of the month unless the
 * pool's root dataset says org.debian:periodic-scrub=disable. With lnstore's weekly scrub that would
 * be a second one: lnstore sets the property, and remove restores it.
 */
export async function debianScrubSteps(
  deps: Deps,
  options: {paths: SchedulePaths; pools: string[]; config: Config},
  recorded: PropertyChange[],
  steps: Step[],
  notes: string[],
): Promise<PropertyChange[]> {
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

/** Steps that put back what install changed; a property changed since, or a pool not imported, gets a note instead. */
export async function restoreSteps(deps: Deps, changes: PropertyChange[], notes: string[]): Promise<Step[]> {
  const steps: Step[] = []
  for (const change of changes) {
    const current = await getProperty(deps, change.pool, change.property)
    if (current === null) {
      notes.push(`pool ${change.pool} is not imported: set ${change.property} back by hand once it is (it was ${describeValue(change.previous)})`)
    } else if (current.value !== 'disable' || current.source !== 'local') {
      notes.push(`${change.property} on ${change.pool} was changed since install (now ${describeValue(current)}): left as it is`)
    } else {
      steps.push({kind: 'run', argv: restoreArgv(change)})
    }
  }

  return steps
}

/** OpenZFS 2.1.3+ ships opt-in scrub timers; report enabled ones (lnstore does not touch them). And ZED's own mail. */
export async function otherScrubJobs(paths: SchedulePaths): Promise<string[]> {
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

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}
