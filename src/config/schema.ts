/**
 * lnstore's configuration: its schema (types, ranges, defaults, one line of why for each) and the
 * validator that names the bad key. Kept declarative so `config show` and the README can list it.
 */

export interface BurstConfig {
  errors: number
  seconds: number
}

export interface HealthConfig {
  scrubMaxAgeDays: number
  scrubPausedMaxHours: number
  capacityWarningPercent: number
  capacityCriticalPercent: number
  checksumBurst: BurstConfig
  ioBurst: BurstConfig
  slowBurn: {errors: number; days: number}
  historyDays: number
}

export interface Config {
  /** Pools to watch; empty means every imported pool. */
  pools: string[]
  /** The node's data directory, and the dataset that must be mounted there (set by `lnstore init`). */
  dataDir?: string
  dataset?: string
  stateDir?: string
  health: HealthConfig
}

type FieldSpec =
  | {type: 'number'; min: number; max: number; integer?: boolean; default: number; doc: string}
  | {type: 'string'; default?: string; doc: string}
  | {type: 'strings'; default: string[]; doc: string}
  | {type: 'object'; fields: Record<string, FieldSpec>; doc: string}

const count = (min: number, max: number, value: number, doc: string): FieldSpec => ({type: 'number', min, max, integer: true, default: value, doc})

export const CONFIG_SCHEMA: Record<string, FieldSpec> = {
  pools: {type: 'strings', default: [], doc: 'Pools to watch; empty: every imported pool.'},
  dataDir: {type: 'string', doc: "The Lightning node's data directory (for Core Lightning usually ~/.lightning)."},
  dataset: {type: 'string', doc: 'The ZFS dataset that must be mounted at dataDir.'},
  stateDir: {type: 'string', doc: "Where lnstore keeps its history; default /var/lib/lnstore (root) or ~/.local/state/lnstore. Keep it off the pool."},
  health: {
    type: 'object',
    doc: 'When lnstore calls a pool or device WARNING or CRITICAL.',
    fields: {
      scrubMaxAgeDays: count(1, 365, 8, 'WARNING when the last completed scrub is older (scrubs run weekly).'),
      scrubPausedMaxHours: count(1, 720, 8, 'WARNING when a scrub has been paused longer.'),
      capacityWarningPercent: count(1, 100, 80, 'WARNING at this pool capacity: ZFS slows down and fragments when full.'),
      capacityCriticalPercent: count(1, 100, 90, 'CRITICAL at this pool capacity.'),
      checksumBurst: {
        type: 'object',
        doc: "CRITICAL when a device gains this many checksum errors this fast (OpenZFS ZED's default: 10 in 600 s).",
        fields: {errors: count(1, 1_000_000, 10, 'Errors.'), seconds: count(1, 86_400, 600, 'Within seconds.')},
      },
      ioBurst: {
        type: 'object',
        doc: "CRITICAL when a device gains this many read/write errors this fast (OpenZFS ZED's default: 10 in 600 s).",
        fields: {errors: count(1, 1_000_000, 10, 'Errors.'), seconds: count(1, 86_400, 600, 'Within seconds.')},
      },
      slowBurn: {
        type: 'object',
        doc: 'CRITICAL ("plan a replacement") when a device gains this many errors of any kind over this many days.',
        fields: {errors: count(1, 1_000_000, 20, 'Errors.'), days: count(1, 365, 30, 'Over days.')},
      },
      historyDays: count(1, 3650, 35, 'How long the error history is kept (at least slowBurn.days).'),
    },
  },
}

/** A config file that does not match the schema; `key` is the dotted path of the first bad key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Validates `raw` against the schema and fills in defaults. Throws ConfigError naming the bad key. */
export function validateConfig(raw: unknown, source: string): Config {
  const config = readObject(CONFIG_SCHEMA, raw ?? {}, '', source) as unknown as Config
  const {health} = config
  if (health.capacityWarningPercent >= health.capacityCriticalPercent) {
    throw new ConfigError(`${source}: "health.capacityWarningPercent" must be below "health.capacityCriticalPercent"`, 'health.capacityWarningPercent')
  }

  if (health.historyDays < health.slowBurn.days) {
    throw new ConfigError(`${source}: "health.historyDays" must be at least "health.slowBurn.days" (${health.slowBurn.days})`, 'health.historyDays')
  }

  return config
}

function readObject(fields: Record<string, FieldSpec>, raw: unknown, prefix: string, source: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: ${prefix || 'the file'} must be an object`, prefix || undefined)
  }

  for (const key of Object.keys(raw)) {
    if (!(key in fields)) {
      const near = Object.keys(fields).find((known) => known.toLowerCase() === key.toLowerCase() || known.startsWith(key) || key.startsWith(known))
      throw new ConfigError(`${source}: unknown key "${prefix}${key}"${near ? ` (did you mean "${prefix}${near}"?)` : ''}`, `${prefix}${key}`)
    }
  }

  const result: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(fields)) {
    const value = (raw as Record<string, unknown>)[key]
    const path = `${prefix}${key}`
    const bad = (expected: string) => new ConfigError(`${source}: "${path}" must be ${expected}, not ${JSON.stringify(value)}`, path)
    if (spec.type === 'object') {
      result[key] = readObject(spec.fields, value ?? {}, `${path}.`, source)
    } else if (value === undefined || value === null) {
      if (spec.default !== undefined) result[key] = spec.default
    } else if (spec.type === 'number') {
      if (typeof value !== 'number' || (spec.integer && !Number.isInteger(value)) || value < spec.min || value > spec.max) {
        throw bad(`${spec.integer ? 'an integer' : 'a number'} from ${spec.min} to ${spec.max}`)
      }

      result[key] = value
    } else if (spec.type === 'string') {
      if (typeof value !== 'string' || value === '') throw bad('a non-empty string')
      result[key] = value
    } else {
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) throw bad('a list of names')
      result[key] = value
    }
  }

  return result
}

// Values of keys ending in password/secret/token; not passwordFile or passwordEnv, which only say where the secret is.
const SECRET_KEY = /(password|secret|token)$/i

/** A copy with every secret-looking value replaced, for printing. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) && typeof inner === 'string' ? '********' : maskSecrets(inner)]))
}
