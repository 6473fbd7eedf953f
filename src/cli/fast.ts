import {createRequire} from 'node:module'

import {parseFastFlags, type DefinedFlag, type ManifestFlag} from './fast-flags.js'
import {stdoutIsTerminal} from './terminal.js'

/**
 * The fast entry for the commands that run every few minutes (`status` from cron, systemd,
 * Nagios or node_exporter) and before every node start (`preflight`). Loading oclif costs more
 * than the work itself (~100-170 ms of a 470 ms run), so bin/run.js asks this entry first: it
 * parses the command's flags from the oclif manifest (./fast-flags.ts) and runs the very same
 * command class, bundled at build time (scripts/build-fast-entry.js) with small stand-ins for
 * oclif's command, flags and errors modules (./oclif-lite/). Anything it does not recognise (help,
 * a flag it does not parse, a usage error, JSON for a terminal) it leaves to oclif, which then
 * parses and answers exactly as it always does; an error on the way loads oclif's own handler.
 */
const COMMANDS: Record<string, () => Promise<{default: LiteCommandClass}>> = {
  status: () => import('../commands/status.js') as never,
  preflight: () => import('../commands/preflight/index.js') as never,
}

interface LiteCommandClass {
  new (argv: string[], config: {bin: string; scopedEnvVar(name: string): string | undefined}): {id?: string; parsedFlags: Record<string, unknown>; _run(): Promise<unknown>}
  baseFlags?: Record<string, DefinedFlag>
  flags?: Record<string, DefinedFlag>
}

interface Manifest {
  commands: Record<string, {flags: Record<string, ManifestFlag>; args?: Record<string, unknown>}>
}

/** oclif.manifest.json's flags and args, put in by scripts/build-fast-entry.js when it bundles this entry. */
declare const LNSTORE_MANIFEST: Manifest

const require = createRequire(import.meta.url)

/** Runs `argv` when it is a plain call of a hot command and returns true; false: oclif should run it. */
export async function runFast(argv: string[]): Promise<boolean> {
  const [id, ...rest] = argv
  const load = COMMANDS[id]
  if (!load) return false
  const entry = LNSTORE_MANIFEST.commands[id]
  if (!entry || Object.keys(entry.args ?? {}).length > 0) return false
  const {default: CommandClass} = await load()
  const flags = parseFastFlags(entry.flags, {...CommandClass.baseFlags, ...CommandClass.flags}, rest, process.env)
  // oclif colours JSON on a terminal: leave that to it.
  if (!flags || (flags.json === true && (stdoutIsTerminal() || process.env.FORCE_COLOR))) return false
  const command = new CommandClass(rest, {bin: 'lnstore', scopedEnvVar: (name) => process.env[`LNSTORE_${name}`]})
  command.id = id
  command.parsedFlags = flags
  try {
    await command._run()
  } catch (error) {
    const {handle} = require('@oclif/core/handle') as typeof import('@oclif/core/handle')
    await handle(error as Error)
  }

  return true
}
