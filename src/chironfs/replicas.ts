import type {ChironfsConfig} from '../config/schema.js'

/** The name ChironFS mode reports under where ZFS mode names a pool: history, alerts, events. */
export const SCOPE = 'chironfs'

/**
 * A replica as ChironFS takes it on its command line: a directory, and whether it is the "slow"
 * replica (written `:DIR`), which ChironFS reads only when the others fail. The NFS replica
 * should be the slow one: every read then stays local.
 */
export interface Replica {
  path: string
  slow: boolean
}

export function parseReplica(text: string): Replica {
  return text.startsWith(':') ? {path: text.slice(1), slow: true} : {path: text, slow: false}
}

export function formatReplica(replica: Replica): string {
  return `${replica.slow ? ':' : ''}${replica.path}`
}

export function configuredReplicas(config: ChironfsConfig): Replica[] {
  return config.replicas.map(parseReplica)
}

/** Files lnstore itself creates in a replica for a moment (the write probe): never data, never a difference. */
export const PROBE_PREFIX = '.lnstore-probe-'

/** Entries of a replica that are not the node's data: lnstore's probe files, and lost+found where a replica is a filesystem's root. */
export function notData(name: string): boolean {
  return name.startsWith(PROBE_PREFIX) || name === 'lost+found'
}
