import {dirname} from 'node:path'

import {renderChironfsPool} from '../chironfs/render.js'
import {configuredReplicas, SCOPE} from '../chironfs/replicas.js'
import type {StorageBackend} from './backend.js'

/** Mode chironfs: the replicas ChironFS writes to, compared in full by `scrub`, brought back in step by `heal`. */
export const chironfsBackend: StorageBackend = {
  missingSetup: (config) => (config.dataDir ? [] : ['dataDir']),
  // No pool: the acknowledgements are kept under the mount's scope name.
  scope: () => SCOPE,
  status: async (deps, options) => (await import('../chironfs/status.js')).checkChironfsStatus(deps, options),
  scrub: async (deps, options) => (await import('../chironfs/scrub.js')).scrubReplicas(deps, options),
  async startGate(deps, config, stateDir) {
    const {chironfsStartFindings} = await import('../chironfs/preflight.js')
    const {mounted, findings, olderDataNext} = await chironfsStartFindings(deps, config, stateDir)
    // Without the mount the directory holds no replica's data.
    return {findings, dataPresent: mounted, poolHistory: null, olderDataNext}
  },
  sandbox: (config, stateDir) => ({
    stateDir,
    writablePaths: [
      ...configuredReplicas(config.chironfs).map((replica) => replica.path),
      ...(config.dataDir ? [config.dataDir] : []),
      dirname(config.chironfs.log),
      dirname(config.chironfs.controlSocket),
    ],
    device: '/dev/fuse',
    capabilities: 'CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_CHOWN CAP_FOWNER',
    capabilitiesWhy: "Replicas belong to the node's user: probing and healing them writes there, with the files' owners.",
    chironfs: true,
  }),
  renderPool: renderChironfsPool,
  unsupported: {
    'replace-disk': {
      reason: 'replace-disk replaces a disk of a ZFS pool; in mode chironfs the data is on ChironFS replicas, and a replica that failed or fell behind is brought back in step by heal',
      next: 'lnstore heal --dry-run',
    },
  },
}
