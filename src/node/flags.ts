import * as Flags from '@oclif/core/flags'

import type {Config} from '../config/schema.js'
import {nodeSettings, type NodeSettings} from './adapter.js'

/** The flags of commands that stop and start the node (replace-disk, heal); each overrides the config's `node:` section. */
export const nodeFlags = {
  'data-dir': Flags.string({description: "The node's data directory. Default: dataDir from the config.", env: 'LNSTORE_DATA_DIR'}),
  'node-kind': Flags.string({description: 'How to stop and start the node. Default: node.kind from the config (systemd).', options: ['systemd', 'rpc', 'docker', 'commands'], env: 'LNSTORE_NODE_KIND'}),
  'node-unit': Flags.string({description: 'systemd unit of the node. Default: node.unit (lightningd).', env: 'LNSTORE_NODE_UNIT'}),
  'node-container': Flags.string({description: 'Docker container of the node. Default: node.container.', env: 'LNSTORE_NODE_CONTAINER'}),
  'node-start-command': Flags.string({description: 'Shell command that starts the node (kinds rpc, commands).', env: 'LNSTORE_NODE_START_COMMAND'}),
  'node-stop-command': Flags.string({description: 'Shell command that stops the node (kind commands).', env: 'LNSTORE_NODE_STOP_COMMAND'}),
  network: Flags.string({description: "The node's network. Default: node.network (bitcoin).", env: 'LNSTORE_NODE_NETWORK'}),
  'stop-timeout': Flags.integer({description: 'Seconds to wait for the node to exit. Default: node.stopTimeoutSeconds (120).', min: 1, env: 'LNSTORE_STOP_TIMEOUT'}),
}

type NodeFlagValues = {[K in keyof typeof nodeFlags]?: K extends 'stop-timeout' ? number : string}

/** Why a command that stops and starts the node cannot, when nodeSettingsFromFlags found no data directory, and what to do. */
export const NO_DATA_DIR = "lnstore does not know the node's data directory: give --data-dir, or set dataDir in the config (lnstore init writes it)"

/** The node's settings from the config and these flags; null when the data directory is known from neither (say NO_DATA_DIR). */
export function nodeSettingsFromFlags(config: Config, flags: NodeFlagValues): NodeSettings | null {
  const dataDir = flags['data-dir'] ?? config.dataDir
  if (!dataDir) return null
  return nodeSettings(config.node, dataDir, {
    kind: flags['node-kind'] as NodeSettings['kind'] | undefined,
    network: flags.network,
    unit: flags['node-unit'],
    container: flags['node-container'],
    startCommand: flags['node-start-command'],
    stopCommand: flags['node-stop-command'],
  })
}
