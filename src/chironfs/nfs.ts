import type {Finding} from '../storage/verdict.js'
import type {MountEntry} from '../storage/mounts.js'

/**
 * Whether a replica's NFS mount can hang the node or lose acknowledged writes, from its options
 * as /proc/mounts shows them. Pure: the mount table's text in, findings out.
 *
 * - hard vs soft: on a `hard` mount (NFS's default) a write to a dead server blocks until the
 *   server returns, so ChironFS blocks, and with it the node. On a `soft` mount the write fails
 *   after the retries, ChironFS disables that replica and the node goes on (lnstore then reports
 *   the replica and heals it).
 * - timeo/retrans: how long a soft mount tries before failing: about timeo/10 s per try, retrans+1
 *   tries (more on TCP, where each retry waits longer). Unbounded in practice when that is
 *   minutes: the node stalls that long on every write.
 * - sync: ChironFS 1.1 implements no fsync, so the node's fsync never reaches the replicas. On an
 *   `async` client mount (NFS's default) an acknowledged write may sit in this machine's cache;
 *   `sync` sends every write to the server before it returns. The server's export must be `sync`
 *   too (its default), never `async`, or the server acknowledges writes it has not stored.
 */

export const isNfs = (mount: MountEntry) => mount.fsType === 'nfs' || mount.fsType === 'nfs4'

/** Longest time (seconds) a soft mount tries before a request fails, above which lnstore warns. */
export const MAX_SOFT_SECONDS = 60

/** Roughly how long a soft mount keeps retrying one request before it fails, in seconds. */
export function softTimeoutSeconds(mount: MountEntry): number {
  const tcp = (mount.options.get('proto') ?? 'tcp') !== 'udp'
  const timeo = Number(mount.options.get('timeo') ?? (tcp ? 600 : 11)) / 10
  const retrans = Number(mount.options.get('retrans') ?? (tcp ? 2 : 3))
  // TCP waits timeo, then timeo longer after each retry (capped at 600 s); UDP doubles it (capped at 60 s).
  let total = 0
  for (let attempt = 0; attempt <= retrans; attempt++) total += tcp ? Math.min(600, timeo * (attempt + 1)) : Math.min(60, timeo * 2 ** attempt)
  return total
}

/** Findings about one replica's NFS mount; empty for a mount that is not NFS or whose options are sound. */
export function assessNfsMount(replica: string, mount: MountEntry, exportOptions?: string[] | null): Finding[] {
  if (!isNfs(mount)) return []
  const findings: Finding[] = []
  const where = `${mount.source} on ${mount.mountPoint}`
  const remount = (options: string) => `mount -o remount,${options} ${mount.mountPoint} (and put ${options} in its /etc/fstab line)`
  if (!mount.options.has('soft') && !mount.options.has('softerr')) {
    findings.push({
      verdict: 'WARNING',
      message: `replica ${replica}: ${where} is a hard NFS mount: if the server goes away, every write blocks until it returns, so ChironFS and the node hang instead of ChironFS disabling that replica and going on`,
      next: `remount it soft with bounded retries: ${remount('soft,timeo=50,retrans=2')} (a failed write then disables the replica; lnstore reports it and heal brings it back)`,
    })
  } else {
    const seconds = softTimeoutSeconds(mount)
    if (seconds > MAX_SOFT_SECONDS) {
      findings.push({
        verdict: 'WARNING',
        message: `replica ${replica}: ${where} is soft but retries for about ${Math.round(seconds)} s (timeo=${mount.options.get('timeo') ?? 'default'}, retrans=${mount.options.get('retrans') ?? 'default'}): while the server is gone the node stalls that long on every write`,
        next: `bound it: ${remount('timeo=50,retrans=2')} (about 15 s)`,
      })
    }
  }

  if (!mount.options.has('sync')) {
    findings.push({
      verdict: 'WARNING',
      message: `replica ${replica}: ${where} is mounted async: ChironFS passes no fsync on, so a write the node was told is safe may still sit in this machine's cache, not on the server`,
      next: `mount it with sync: ${remount('sync')}`,
    })
  }

  if (exportOptions?.includes('async')) {
    findings.push({
      verdict: 'WARNING',
      message: `replica ${replica}: the server exports it async: the server acknowledges writes before they are on its disk, and loses them if it crashes`,
      next: 'on the server, change async to sync for this export in /etc/exports, then run exportfs -ra',
    })
  }

  return findings
}

/**
 * The options of the export that serves `path` in an NFS server's export table (/var/lib/nfs/etab,
 * as exportfs writes it: `PATH<TAB>CLIENT(options)`); null when it is not listed.
 */
export function exportOptionsFor(etab: string, path: string): string[] | null {
  for (const line of etab.split('\n')) {
    const match = /^(\S+)\s+\S*?\(([^)]*)\)/.exec(line)
    if (match && match[1] === path) return match[2].split(',')
  }

  return null
}
