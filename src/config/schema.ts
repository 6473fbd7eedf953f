/**
 * lnstore's configuration: its schema (types, ranges, defaults, one line of why for each) and the
 * validator that names the bad key. Kept declarative so `config show` and the README can list it.
 */

import {replicaOverlap} from '../chironfs/replica-paths.js'
import {TIME_OF_DAY, unevenInterval, WEEKDAYS} from '../schedule/calendar.js'
import {closestName} from './suggest.js'

type FieldSpec =
  | {type: 'number'; min: number; max: number; integer?: boolean; default?: number; doc: string}
  | {type: 'string'; default?: string; format?: Format; doc: string}
  | {type: 'choice'; values: readonly string[]; default?: string; doc: string}
  | {type: 'boolean'; default: boolean; doc: string}
  | {type: 'strings'; default: readonly string[]; format?: Format; doc: string}
  | {type: 'object'; fields: Fields; doc: string}

type Fields = {readonly [key: string]: FieldSpec}

/** The value a field holds once validated. */
type ValueOf<S> = S extends {type: 'number'}
  ? number
  : S extends {type: 'string'}
    ? string
    : S extends {type: 'choice'; values: readonly (infer V)[]}
      ? V
      : S extends {type: 'boolean'}
        ? boolean
        : S extends {type: 'strings'}
          ? string[]
          : S extends {type: 'object'; fields: infer F}
            ? ValuesOf<F>
            : never

/** A field is always there once validated when it has a default (objects are filled in); otherwise it is optional. */
type Present<S> = S extends {type: 'object'} ? true : S extends {default: unknown} ? true : false

/** The validated values of an object's fields: the config's type, read off the schema that validates it. */
type ValuesOf<F> = {-readonly [K in keyof F as Present<F[K]> extends true ? K : never]: ValueOf<F[K]>} & {
  -readonly [K in keyof F as Present<F[K]> extends true ? never : K]?: ValueOf<F[K]>
}

/** A pattern a string must match, and how to say what it must be. */
interface Format {
  pattern: RegExp
  expected: string
}

const EMAIL: Format = {pattern: /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/, expected: 'an email address (name@example.org)'}

const count = (min: number, max: number, value: number, doc: string) => ({type: 'number', min, max, integer: true, default: value, doc}) as const

export const CONFIG_SCHEMA = {
  pools: {type: 'strings', default: [], doc: 'Pools to watch; empty: every imported pool.'},
  dataDir: {type: 'string', doc: "The Lightning node's data directory (for Core Lightning usually ~/.lightning)."},
  dataset: {type: 'string', doc: 'The ZFS dataset that must be mounted at dataDir.'},
  mode: {type: 'choice', values: ['zfs', 'chironfs'], doc: 'How the node data is protected (written by `lnstore init`).'},
  allowDegradedStart: {
    type: 'boolean',
    default: false,
    doc: 'Let `lnstore preflight` pass when a vdev has no redundant copy left (the operator\'s informed choice; logged as a WARNING).',
  },
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
  alerts: {
    type: 'object',
    doc: 'Email alerts: on every change of verdict, repeated while a problem lasts, and a "recovered" mail.',
    fields: {
      to: {type: 'strings', default: [], format: {...EMAIL, expected: 'a list of email addresses (name@example.org)'}, doc: 'Recipients; empty: no mail.'},
      from: {type: 'string', format: EMAIL, doc: 'Sender address; default lnstore@<this host>.'},
      smtp: {
        type: 'object',
        doc: 'The mail server lnstore hands its alerts to.',
        fields: {
          host: {type: 'string', doc: 'SMTP server name or address.'},
          port: {type: 'number', min: 1, max: 65_535, integer: true, doc: 'Default: 465 (tls: implicit), 587 (starttls), 25 (none).'},
          tls: {type: 'choice', values: ['implicit', 'starttls', 'none'], default: 'starttls', doc: 'implicit: TLS from the first byte (port 465); starttls: upgrade, and refuse a server that cannot; none: plain text (local relays only).'},
          user: {type: 'string', doc: 'Login name, when the server wants one.'},
          passwordFile: {type: 'string', doc: 'File holding the password (first line); must not be readable by every user.'},
          passwordEnv: {type: 'string', doc: 'Or: the environment variable holding the password.'},
          caFile: {type: 'string', doc: "CA certificate (PEM) to trust for the server's certificate (private CA, self-signed server)."},
          timeoutSeconds: count(1, 600, 30, 'Give up on a server that does not answer within this many seconds (the alert stays in the outbox).'),
        },
      },
      repeatHours: count(1, 8760, 24, 'While a problem lasts, mail again at most this often.'),
      scrubSummary: {type: 'choice', values: ['off', 'on-problems', 'always'], default: 'on-problems', doc: 'A mail after each scrub: never, when it repaired or found anything, or always.'},
    },
  },
  schedule: {
    type: 'object',
    doc: 'When `lnstore schedule install` (and `lnstore monitor`) scrub and check.',
    fields: {
      scrubDay: {type: 'choice', values: [...WEEKDAYS], default: 'sun', doc: 'Day of the weekly scrub.'},
      scrubTime: {type: 'string', default: '03:00', format: {pattern: TIME_OF_DAY, expected: 'a time of day as HH:MM (24 h)'}, doc: 'Local time of the weekly scrub.'},
      randomDelayMinutes: count(0, 1440, 60, 'Start the scrub up to this many minutes later, so that many nodes do not scrub at the same minute.'),
      checkIntervalMinutes: count(1, 1440, 60, 'Health check (and alerts) this often, from a timer or cron.'),
    },
  },
  monitor: {
    type: 'object',
    doc: '`lnstore monitor`, the long-running alternative to timers.',
    fields: {checkIntervalMinutes: count(1, 1440, 5, 'Health check (and alerts) this often.')},
  },
  node: {
    type: 'object',
    doc: 'How `lnstore replace-disk` stops and starts the Lightning node. It always talks to the node over its JSON-RPC socket (<dataDir>/<network>/lightning-rpc, or rpcFile), and waits for the process to exit.',
    fields: {
      user: {type: 'string', doc: 'The user that runs the node and owns dataDir (written by `lnstore init`).'},
      kind: {
        type: 'choice',
        values: ['systemd', 'rpc', 'docker', 'commands'],
        default: 'systemd',
        doc: 'systemd: systemctl stop/start the unit; rpc: the JSON-RPC `stop` command, started by startCommand; docker: docker stop/start the container; commands: stopCommand and startCommand.',
      },
      network: {type: 'string', default: 'bitcoin', doc: "The node's network: names the directory of its socket and its pid file lightningd-<network>.pid."},
      unit: {type: 'string', default: 'lightningd', doc: 'The systemd unit (kind systemd).'},
      container: {type: 'string', doc: 'The Docker container (kind docker).'},
      startCommand: {type: 'string', doc: 'Shell command that starts the node and returns (kinds rpc and commands).'},
      stopCommand: {type: 'string', doc: 'Shell command that stops the node (kind commands).'},
      rpcFile: {type: 'string', doc: "The node's JSON-RPC socket, when lightningd's rpc-file option moves it out of <dataDir>/<network>/lightning-rpc. On ChironFS it must be outside the mount: ChironFS cannot hold a socket."},
      hsmtool: {type: 'string', doc: "Core Lightning's lightning-hsmtool, when it is not on PATH (e.g. /opt/cln/bin/lightning-hsmtool): preflight asks it which node hsm_secret belongs to, and refuses when it cannot tell. The environment variable LNSTORE_HSMTOOL overrides it."},
      stopTimeoutSeconds: count(1, 3600, 120, 'Give up (touching no disk) when the node has not exited this long after being asked to stop.'),
      startTimeoutSeconds: count(1, 3600, 300, 'Give up when the started node does not answer getinfo within this time.'),
    },
  },
  chironfs: {
    type: 'object',
    doc: 'Mode chironfs: the ChironFS mount at dataDir that writes every file to each replica (written by `lnstore init --chironfs`).',
    fields: {
      replicas: {type: 'strings', default: [], doc: 'Replica directories, in order; a leading ":" marks the slow replica (the NFS one), read only when the others fail.'},
      controlSocket: {type: 'string', default: '/run/lnstore/chironfs.sock', doc: 'The control socket ChironFS 1.1.1 creates (--ctl), read with chironctl.'},
      controlDir: {type: 'string', doc: "The original ChironFS 1.1's control filesystem (--ctl DIR: a directory per replica holding a status file), where that release runs."},
      log: {type: 'string', default: '/var/log/lnstore/chironfs.log', doc: "ChironFS's log (--log): failed writes and disabled replicas."},
      binary: {type: 'string', default: 'chironfs', doc: 'The chironfs program: a name on PATH or a path.'},
      probeTimeoutSeconds: count(1, 600, 10, 'A replica that does not answer a stat, a write and a statfs within this time is unreachable (a dead NFS server must not hang lnstore).'),
      settleSeconds: count(0, 600, 3, 'A difference between replicas is reported only when looks for this long (after 50 ms, then doubling) still see it (the node writes between two reads); nothing is waited for when the replicas agree.'),
    },
  },
} as const satisfies Fields

export type Config = ValuesOf<typeof CONFIG_SCHEMA>
export type HealthConfig = Config['health']
export type AlertsConfig = Config['alerts']
export type SmtpConfig = AlertsConfig['smtp']
export type TlsMode = SmtpConfig['tls']
export type NodeConfig = Config['node']
export type ChironfsConfig = Config['chironfs']

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

/** What each mode needs beyond the schema's types: the first key it lacks, and why. */
const MODE_NEEDS: Record<NonNullable<Config['mode']>, (config: Config) => {key: string; why: string} | null> = {
  zfs: () => null,
  chironfs(config) {
    if (config.chironfs.replicas.length < 2) return {key: 'chironfs.replicas', why: 'must name at least two replica directories in mode chironfs'}
    if (!config.dataDir) return {key: 'dataDir', why: '(where ChironFS is mounted) is needed in mode chironfs'}
    const overlap = replicaOverlap(config.chironfs.replicas)
    return overlap ? {key: 'chironfs.replicas', why: `${overlap}: ChironFS would keep one copy where lnstore counts two`} : null
  },
}

/** Validates `raw` against the schema and fills in defaults. Throws ConfigError naming the bad key. */
export function validateConfig(raw: unknown, source: string): Config {
  const config = readObject(CONFIG_SCHEMA, raw ?? {}, '', source)
  const {health} = config
  if (health.capacityWarningPercent >= health.capacityCriticalPercent) {
    throw new ConfigError(`${source}: "health.capacityWarningPercent" must be below "health.capacityCriticalPercent"`, 'health.capacityWarningPercent')
  }

  if (health.historyDays < health.slowBurn.days) {
    throw new ConfigError(`${source}: "health.historyDays" must be at least "health.slowBurn.days" (${health.slowBurn.days})`, 'health.historyDays')
  }

  checkAlertsAndSchedule(config, source)
  const lacking = MODE_NEEDS[config.mode ?? 'zfs'](config)
  if (lacking) throw new ConfigError(`${source}: "${lacking.key}" ${lacking.why}`, lacking.key)

  return config
}

/** A mail server on this machine (loopback), where a login without TLS never leaves the host. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return bare === 'localhost' || bare.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || bare === '::1' || /^::ffff:127\./.test(bare)
}

function checkAlertsAndSchedule(config: Config, source: string): void {
  const {smtp, to} = config.alerts
  const fail = (key: string, why: string) => {
    throw new ConfigError(`${source}: "${key}" ${why}`, key)
  }

  if (to.length > 0 && !smtp.host) fail('alerts.smtp.host', 'is needed to send mail to alerts.to')
  if (smtp.passwordFile && smtp.passwordEnv) fail('alerts.smtp.passwordEnv', 'and "alerts.smtp.passwordFile" both name a password: keep one')
  if ((smtp.passwordFile || smtp.passwordEnv) && !smtp.user) fail('alerts.smtp.user', 'is needed with a password')
  if (smtp.user && !smtp.passwordFile && !smtp.passwordEnv) fail('alerts.smtp.passwordFile', 'or "alerts.smtp.passwordEnv" is needed with a user (the password never goes in the config)')
  if (smtp.tls === 'none' && smtp.user && smtp.host && !isLoopbackHost(smtp.host)) {
    fail('alerts.smtp.tls', `is "none" with a login to ${smtp.host}, which is not on this machine: the password would cross the network in clear text; use "starttls" (port 587) or "implicit" (465)`)
  }
  for (const key of ['schedule', 'monitor'] as const) {
    const uneven = unevenInterval(config[key].checkIntervalMinutes * 60)
    if (uneven) fail(`${key}.checkIntervalMinutes`, `must repeat evenly on the clock: ${uneven}`)
  }
}

function readObject<F extends Fields>(fields: F, raw: unknown, prefix: string, source: string): ValuesOf<F> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: ${prefix || 'the file'} must be an object`, prefix || undefined)
  }

  for (const key of Object.keys(raw)) {
    if (!(key in fields)) {
      const near = closestName(key, Object.keys(fields))
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
      if (spec.format && !spec.format.pattern.test(value)) throw bad(spec.format.expected)
      result[key] = value
    } else if (spec.type === 'choice') {
      if (typeof value !== 'string' || !spec.values.includes(value)) throw bad(`one of ${spec.values.join(', ')}`)
      result[key] = value
    } else if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw bad('true or false')
      result[key] = value
    } else {
      const format = spec.format
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '' || (format && !format.pattern.test(item)))) throw bad(format?.expected ?? 'a list of names')
      result[key] = value
    }
  }

  // Each field was checked against its spec just above: the object holds exactly ValuesOf<F>.
  return result as ValuesOf<F>
}

// Values of keys ending in password/secret/token; not passwordFile or passwordEnv, which only say where the secret is.
const SECRET_KEY = /(password|secret|token)$/i

/** A copy with every secret-looking value replaced, for printing. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) && typeof inner === 'string' ? '********' : maskSecrets(inner)]))
}
