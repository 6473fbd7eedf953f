import {loadTemplate, renderTemplate} from '../system/templates.js'

/**
 * The sandbox of the units `schedule install` writes (templates/systemd/hardening.conf): what the
 * check, the scrub and the monitor may write and which privileges they keep. Each storage backend
 * says what its own needs (StorageBackend.sandbox): ZFS needs CAP_SYS_ADMIN for the pool ioctls
 * (scrub) and reads the node's database as root; ChironFS probes and heals replicas that belong to
 * the node's user.
 */

export interface Sandbox {
  stateDir: string
  /** Beyond the state directory; may be missing at start (an NFS replica not mounted yet). */
  writablePaths: string[]
  device: string
  capabilities: string
  capabilitiesWhy: string
  chironfs: boolean
}

export async function renderHardening(sandbox: Sandbox, quote: (path: string) => string): Promise<string> {
  return renderTemplate(await loadTemplate('systemd/hardening.conf'), {...sandbox, stateDir: quote(sandbox.stateDir), writablePaths: sandbox.writablePaths.map(quote)})
}
