import {access} from 'node:fs/promises'
import {hostname} from 'node:os'

import {composeReplaceMail, loadMailTemplates} from '../alerts/compose.js'
import {mailWhenConfigured} from '../alerts/outbox.js'
import {alertsConfigured} from '../alerts/smtp.js'
import type {AlertsConfig} from '../config/schema.js'
import {partitionNumber, partitionsOf} from '../devices/facts.js'
import type {Deps} from '../system/deps.js'
import {Zpool} from '../zfs/zpool.js'

/**
 * The removed disk still holds an old copy of the channel database. Imported and started elsewhere,
 * it would broadcast revoked channel states: clear its ZFS labels while it is attached (asking
 * first), else say to wipe it.
 */
export async function retireOldDevice(deps: Deps, failing: string, path: string | null, ask: (question: string) => Promise<boolean>): Promise<{path: string; labelsCleared: boolean; warning?: string}> {
  const device = path ?? failing
  const warning = `${device} holds an old copy of the node's channel database: never import it or start a node on it. Wipe it (zpool labelclear -f ${device}, then wipefs -a ${device}) before reusing or discarding it.`
  const attached = path !== null && (await access(path).then(() => true, () => false))
  if (!attached) return {path: device, labelsCleared: false, warning}
  if (!(await ask(`Clear the ZFS labels of the removed device ${device} (zpool labelclear -f), so its old copy can never be imported?`))) return {path: device, labelsCleared: false, warning}
  let failure = ''
  for (const candidate of labelclearOrder(device, await partitionsOf(device))) {
    const result = await deps.runner.run(['zpool', 'labelclear', '-f', candidate])
    if (result.exitCode === 0) return {path: candidate, labelsCleared: true}
    failure ||= result.stderr.trim().split('\n')[0]
  }

  return {path: device, labelsCleared: false, warning: `zpool labelclear failed (${failure}). ${warning}`}
}

/**
 * Where `zpool labelclear` looks for the old disk's labels, in turn: a whole disk given to ZFS keeps
 * them in its first partition, so its partitions come first (by number), the device itself last.
 * Never the whole disk first: closing it after opening it for writing makes udev re-read its
 * partition table, and the partitions' /dev names vanish for a moment (on OpenZFS 2.1 the
 * labelclear of -part1 right after the whole disk's then failed: "No such file or directory").
 */
export function labelclearOrder(device: string, partitions: string[]): string[] {
  const number = (path: string) => partitionNumber(path) ?? Number.POSITIVE_INFINITY
  return [...[...partitions].sort((a, b) => number(a) - number(b)), device]
}

/** One line on a pool after an abort: its state and any scan under way. */
export async function poolState(deps: Deps, name: string): Promise<string> {
  const pool = (await new Zpool(deps.runner).status([name])).report.pools[0]
  if (!pool) return `pool ${name} is not imported`
  const scan = pool.scan.state === 'in_progress' ? `; a ${pool.scan.kind} is running (${pool.scan.percent ?? '?'}%)` : ''
  return `pool ${name} is ${pool.state}${scan}: zpool status ${name}`
}

/** Mails the report when alerts are configured; a mail that cannot go yet waits in the outbox. */
export async function mailReport(
  deps: Deps,
  alerts: AlertsConfig,
  stateDir: string,
  report: Parameters<typeof composeReplaceMail>[0],
  log: (line: string) => void,
): Promise<void> {
  if (!alertsConfigured(alerts)) return
  const mail = composeReplaceMail(report, {host: hostname(), now: deps.now()}, await loadMailTemplates())
  await mailWhenConfigured(deps, alerts, stateDir, mail, log)
}
