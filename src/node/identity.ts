import {existsSync} from 'node:fs'

import type {Deps} from '../system/deps.js'

/**
 * Whose database this is. Core Lightning derives its node id from `hsm_secret` (hsmd) and stores it
 * in the database (`vars.node_id`); at start it refuses a database whose id differs ("Wallet node_id
 * does not match HSM"). lnstore asks the same code the node uses, `lightning-hsmtool getnodeid`,
 * instead of re-implementing the derivation: hsm_secret has had several formats (32 raw bytes,
 * encrypted, a BIP39 mnemonic), and a guess would be worse than a refusal.
 */

/** The program to ask: LNSTORE_HSMTOOL, else node.hsmtool, else `lightning-hsmtool` on PATH (Core Lightning installs it beside lightningd). */
export function hsmtoolProgram(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return env.LNSTORE_HSMTOOL || configured || 'lightning-hsmtool'
}

export type HsmNodeId = {id: string} | {unknown: string}

/** The node id `hsmSecret` gives, or why it cannot be told (hsmtool missing, an encrypted secret, a damaged file). */
export async function hsmNodeId(deps: Deps, hsmSecret: string, program: string): Promise<HsmNodeId> {
  if (!existsSync(hsmSecret)) return {unknown: `${hsmSecret} does not exist`}
  const result = await deps.runner.run([program, 'getnodeid', hsmSecret], {timeoutMs: 30_000})
  const id = result.stdout.trim()
  if (result.exitCode === 0 && /^0[23][0-9a-f]{64}$/.test(id)) return {id}
  if (result.exitCode === 127) return {unknown: `${program} is not installed (it comes with Core Lightning: put it on PATH, or set node.hsmtool in the config to its path)`}
  return {unknown: `${program} getnodeid ${hsmSecret} failed (${result.exitCode === null ? 'killed' : `exit code ${result.exitCode}`}): ${(result.stderr.trim() || id).split('\n')[0]}`}
}
