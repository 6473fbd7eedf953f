import type {Config} from '../config/schema.js'
import type {StorageBackend} from './backend.js'

/**
 * The one place that knows which storage a mode means. The ChironFS backend is imported only in its
 * mode, and each backend's modules only when a command asks: start-up time is budgeted. The ZFS
 * backend lives here, so a plain `status` loads no extra module for it.
 */

/** Mode zfs: the pools, scrubbed by ZFS, disks replaced by `lnstore replace-disk`; ZFS heals itself. */
const zfs: StorageBackend = {
  missingSetup: (config) => [...(config.dataDir ? [] : ['dataDir']), ...(config.dataset ? [] : ['dataset'])],
  scope: (config) => config.dataset?.split('/')[0] ?? 'zfs',
  status: async (deps, options) => (await import('../status/check-status.js')).checkStatus(deps, options),
  scrub: async (deps, options) => (await import('../scrub/run-scrub.js')).scrubAndCheck(deps, options),
  startGate: async (deps, config, stateDir) => (await import('../zfs/start-gate.js')).zfsStartGate(deps, config, stateDir),
  sandbox: (_config, stateDir) => ({
    stateDir,
    writablePaths: [],
    device: '/dev/zfs',
    capabilities: 'CAP_SYS_ADMIN CAP_DAC_READ_SEARCH',
    capabilitiesWhy: "zpool scrub needs SYS_ADMIN (OpenZFS's ioctl policy); reading the node's database (its user's, mode 0600) needs DAC_READ_SEARCH.",
    chironfs: false,
  }),
  unsupported: {
    heal: {reason: 'heal is for ChironFS replicas; ZFS heals a pool from its redundant copies by itself (a scrub finds and repairs bad copies; a failing disk: lnstore replace-disk)', next: 'lnstore scrub --wait'},
  },
}

/** The backend of the config's mode. */
export async function storageBackend(config: Pick<Config, 'mode'>): Promise<StorageBackend> {
  return config.mode === 'chironfs' ? (await import('./chironfs.js')).chironfsBackend : zfs
}

/** The ZFS backend whatever the mode: for judging saved `zpool status` output (`status --input`). */
export function zfsBackend(): StorageBackend {
  return zfs
}
