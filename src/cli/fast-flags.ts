/**
 * The fast entry's flag parser (src/cli/fast.ts). It reads each flag from the oclif manifest (name,
 * char, kind, repeatable, --no-, environment variable, allowed values) and, for what the manifest
 * leaves out (a boolean's default), from the command's own definition, so a flag added or changed
 * in a command reaches it without a copy. It parses only the plain forms (`--flag value`,
 * `--flag=value`, `-c value`, `--[no-]flag`) and answers undefined for anything else (help, a
 * typo, a missing value, an argument, `--`): oclif then parses that command line, with its own
 * messages and exit codes. test/unit/fast-flags.test.ts holds it to oclif's parser flag by flag.
 */
export interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  multiple?: boolean
  allowNo?: boolean
  env?: string
  options?: string[]
  default?: unknown
  [key: string]: unknown
}

/** What the fast parser needs from a command's own flag definition (src/cli/oclif-lite/flags.ts). */
export interface DefinedFlag {
  default?: unknown
  fast?: boolean
}

/** Manifest keys that only describe help, or that this parser follows. Any other (exclusive, dependsOn, required ...) sends the command to oclif. */
const UNDERSTOOD = new Set(['name', 'type', 'char', 'description', 'summary', 'helpGroup', 'helpValue', 'helpLabel', 'hasDynamicHelp', 'multiple', 'allowNo', 'env', 'options', 'default', 'hidden', 'noCacheDefault', 'deprecateAliases', 'aliases', 'charAliases'])

/** Words oclif reads as a request for help or the version, whatever the command's flags. */
const OCLIF_OWN = new Set(['--help', '-h', 'help', '--version', '-v'])

export type ParsedFlags = Record<string, string | string[] | boolean>

/** Why a command as a whole cannot use the fast parser (undefined: it can). */
export function unsupported(flags: Record<string, ManifestFlag>, args: Record<string, unknown> = {}): string | undefined {
  if (Object.keys(args).length > 0) return 'it takes arguments'
  for (const flag of Object.values(flags)) {
    const extra = Object.entries(flag).find(([key, value]) => !UNDERSTOOD.has(key) && value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0))
    if (extra) return `flag --${flag.name} has "${extra[0]}"`
    if ((flag.aliases as string[] | undefined)?.length || (flag.charAliases as string[] | undefined)?.length) return `flag --${flag.name} has aliases`
  }

  return undefined
}

export function parseFastFlags(flags: Record<string, ManifestFlag>, defined: Record<string, DefinedFlag>, argv: string[], env: NodeJS.ProcessEnv): ParsedFlags | undefined {
  if (unsupported(flags)) return undefined
  const byName = new Map(Object.values(flags).map((flag) => [flag.name, flag]))
  const byChar = new Map(Object.values(flags).filter((flag) => flag.char).map((flag) => [flag.char!, flag]))
  const parsed: ParsedFlags = {}
  const fast = (flag: ManifestFlag) => defined[flag.name]?.fast !== false
  const allowed = (flag: ManifestFlag, value: string) => !flag.options || flag.options.includes(value)
  const tokens = [...argv]
  while (tokens.length > 0) {
    const token = tokens.shift()!
    if (OCLIF_OWN.has(token) || !token.startsWith('-') || token === '-' || token === '--') return undefined
    let flag: ManifestFlag | undefined
    let value: string | undefined
    if (token.startsWith('--')) {
      const equals = token.indexOf('=')
      const name = equals === -1 ? token.slice(2) : token.slice(2, equals)
      value = equals === -1 ? undefined : token.slice(equals + 1)
      flag = byName.get(name)
      const negated = name.startsWith('no-') ? byName.get(name.slice(3)) : undefined
      if (!flag && negated?.type === 'boolean' && negated.allowNo && value === undefined && fast(negated) && !(negated.name in parsed)) {
        parsed[negated.name] = false
        continue
      }
    } else {
      // `-ptank` and `-p=tank` are oclif's to read.
      if (token.length !== 2) return undefined
      flag = byChar.get(token[1])
    }

    if (!flag || !fast(flag)) return undefined
    if (flag.type === 'boolean') {
      if (value !== undefined || flag.name in parsed) return undefined
      parsed[flag.name] = true
      continue
    }

    value ??= tokens.shift()
    if (value === undefined || (value.startsWith('-') && value !== '-') || !allowed(flag, value)) return undefined
    if (flag.multiple) parsed[flag.name] = [...((parsed[flag.name] as string[] | undefined) ?? []), value]
    else if (flag.name in parsed) return undefined
    else parsed[flag.name] = value
  }

  for (const flag of byName.values()) {
    if (flag.name in parsed) continue
    const fromEnv = flag.env ? env[flag.env] : undefined
    if (fromEnv) {
      if (!fast(flag) || flag.multiple) return undefined
      if (flag.type === 'boolean') parsed[flag.name] = ['1', 'true', 'y', 'yes'].includes(fromEnv.toLowerCase())
      else if (allowed(flag, fromEnv)) parsed[flag.name] = fromEnv
      else return undefined
      continue
    }

    const fallback = defined[flag.name]?.default ?? flag.default
    if (typeof fallback === 'function') return undefined
    if (fallback !== undefined) parsed[flag.name] = fallback as ParsedFlags[string]
  }

  return parsed
}
