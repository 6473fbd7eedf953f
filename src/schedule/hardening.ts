import {dirname} from 'node:path'

import type {Config} from '../config/schema.js'
import {loadTemplate, renderTemplate} from '../system/templates.js'

/**
 * The sandbox of the units `schedule install` writes (templates/systemd/hardening.conf): what the
 * check, the scrub and the monitor may write and which privileges they keep. Mode zfs needs
 * CAP_SYS_ADMIN for the pool ioctls (scrub) and reads the node's database as root; mode chironfs
 * probes and heals replicas that belong to the node's user.
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

export function sandboxFor(config: Config, stateDir: string): Sandbox {
  if (config.mode === 'chironfs') {
    const replicas = config.chironfs.replicas.map((replica) => replica.replace(/^:/, ''))
    return {
      stateDir,
      writablePaths: [...replicas, ...(config.dataDir ? [config.dataDir] : []), dirname(config.chironfs.log), dirname(config.chironfs.controlSocket)],
      device: '/dev/fuse',
      capabilities: 'CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_CHOWN CAP_FOWNER',
      capabilitiesWhy: "Replicas belong to the node's user: probing and healing them writes there, with the files' owners.",
      chironfs: true,
    }
  }

  return {
    stateDir,
    writablePaths: [],
    device: '/dev/zfs',
    capabilities: 'CAP_SYS_ADMIN CAP_DAC_READ_SEARCH',
    capabilitiesWhy: "zpool scrub needs SYS_ADMIN (OpenZFS's ioctl policy); reading the node's database (its user's, mode 0600) needs DAC_READ_SEARCH.",
    chironfs: false,
  }
}

export async function renderHardening(sandbox: Sandbox, quote: (path: string) => string): Promise<string> {
  return renderTemplate(await loadTemplate('systemd/hardening.conf'), {...sandbox, stateDir: quote(sandbox.stateDir), writablePaths: sandbox.writablePaths.map(quote)})
}
