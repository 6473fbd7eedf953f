import {CommandError, commandLine, ZFS_TIMEOUT_MS, type RunResult, type Runner} from '../system/runner.js'
import type {DialectCache, ZpoolDialect} from './dialect-cache.js'
import {parseStatus} from './status-json.js'
import {walkVdevs, type StatusReport} from './status-model.js'
import {parseNiceNumber} from '../storage/units.js'

/** How the installed zpool can print status: OpenZFS 2.3+ JSON, exact numbers (`-p`), or plain text. */
export type StatusDialect = 'json' | 'parsable' | 'text'

export type ZpoolFailure = 'missing' | 'not-running' | 'permission' | 'no-such-pool' | 'busy' | 'timeout' | 'failed'

/** A zpool invocation that failed, classified, with what to do next. */
export class ZpoolError extends CommandError {
  constructor(
    result: RunResult,
    readonly failure: ZpoolFailure,
    readonly nextStep: string,
  ) {
    super(result, `${commandLine(result.argv)}: ${describeFailure(result, failure)}`)
    this.name = 'ZpoolError'
  }
}

export interface PoolCapacity {
  name: string
  sizeBytes: number | null
  allocatedBytes: number | null
  freeBytes: number | null
  capacityPercent: number | null
  health: string
}

export interface StatusReading {
  /** What zpool printed, verbatim (text or JSON). */
  output: string
  dialect: StatusDialect
  report: StatusReport
}

const STATUS_ARGS: Record<StatusDialect, string[]> = {json: ['-j', '--json-int'], parsable: ['-p'], text: []}
const NEXT_DIALECT: Record<StatusDialect, StatusDialect | null> = {json: 'parsable', parsable: 'text', text: null}

/**
 * Reads pools through the real `zpool`. Detects the status dialect on the first call and keeps it
 * for the run; with a `DialectCache`, across runs too, until zpool or the kernel module changes.
 */
export class Zpool {
  private dialect: StatusDialect = 'json'
  private guidsSupported = true
  private exactList = true
  private learned?: Promise<ZpoolDialect | undefined>

  constructor(
    private readonly runner: Runner,
    private readonly binary = 'zpool',
    private readonly cache?: DialectCache,
  ) {}

  async status(pools: string[] = []): Promise<StatusReading> {
    const cached = await this.recall()
    for (;;) {
      const result = await this.run(['status', ...STATUS_ARGS[this.dialect], ...pools])
      const fallback = NEXT_DIALECT[this.dialect]
      if (fallback && result.exitCode !== 0 && rejectsOption(result)) {
        this.dialect = fallback
        continue
      }

      const output = noPoolsOnStderr(this.check(result)) ? result.stderr : result.stdout
      const report = parseStatus(output)
      if (this.dialect !== 'json' && this.guidsSupported && report.pools.length > 0) await this.addGuids(report, pools)
      await this.addDamagedFiles(report)
      await this.remember(cached)
      return {output, dialect: this.dialect, report}
    }
  }

  async capacity(pools: string[] = []): Promise<PoolCapacity[]> {
    const cached = await this.recall()
    const columns = ['-o', 'name,size,allocated,free,capacity,health']
    let result = await this.run(['list', this.exactList ? '-Hp' : '-H', ...columns, ...pools])
    if (this.exactList && result.exitCode !== 0 && rejectsOption(result)) {
      this.exactList = false
      result = await this.run(['list', '-H', ...columns, ...pools])
    }

    const capacities = parseCapacityList(this.check(result).stdout)
    await this.remember(cached)
    return capacities
  }

  /** Starts a scrub (or resumes a paused one). */
  async scrub(pool: string): Promise<void> {
    this.check(await this.run(['scrub', pool]))
  }

  /** `zpool status -v POOL` as zpool prints it, for people to read (alert mails). */
  async statusText(pool: string): Promise<string> {
    return this.check(await this.run(['status', '-v', pool])).stdout
  }

  /**
   * Without `-v` zpool only counts permanent errors ("2 data errors, use '-v' for a list"), and the
   * JSON dialect does not list them either: for a pool with errors, ask `zpool status -v` which files.
   */
  private async addDamagedFiles(report: StatusReport): Promise<void> {
    for (const pool of report.pools) {
      if (!pool.errors || pool.errors.count === 0 || pool.errors.files.length > 0) continue
      const result = await this.run(['status', '-v', pool.name])
      if (result.exitCode !== 0) continue
      const listed = parseStatus(result.stdout).pools.find((candidate) => candidate.name === pool.name)?.errors
      if (listed && listed.files.length > 0) pool.errors = {...listed, raw: pool.errors.raw}
    }
  }

  /** Text status names devices, not GUIDs; `-g` prints the same tree with GUIDs, so zip the two (where supported). */
  private async addGuids(report: StatusReport, pools: string[]): Promise<void> {
    const result = await this.run(['status', '-g', ...pools])
    if (result.exitCode !== 0) {
      if (rejectsOption(result)) this.guidsSupported = false
      return
    }

    const withGuids = parseStatus(result.stdout)
    for (const pool of report.pools) {
      const twin = withGuids.pools.find((candidate) => candidate.name === pool.name)
      if (!twin) continue
      const guids = [...walkVdevs(twin.vdevs)].map((vdev) => vdev.name)
      const vdevs = [...walkVdevs(pool.vdevs)]
      if (guids.length !== vdevs.length) continue
      for (const [index, vdev] of vdevs.entries()) if (/^\d+$/.test(guids[index])) vdev.guid = guids[index]
    }
  }

  /** What an earlier run learned about this zpool, applied once per instance. */
  private recall(): Promise<ZpoolDialect | undefined> {
    this.learned ??= (this.cache?.read() ?? Promise.resolve(undefined)).then((dialect) => {
      if (dialect) [this.dialect, this.guidsSupported, this.exactList] = [dialect.status, dialect.guids, dialect.exactList]
      return dialect
    })
    return this.learned
  }

  private async remember(cached: ZpoolDialect | undefined): Promise<void> {
    const now: ZpoolDialect = {status: this.dialect, guids: this.guidsSupported, exactList: this.exactList}
    if (this.cache && JSON.stringify(now) !== JSON.stringify(cached)) await this.cache.write(now)
  }

  private run(args: string[]): Promise<RunResult> {
    // Bounded by the runner's default for zpool (ZFS_TIMEOUT_MS): a suspended pool cannot hang a check.
    return this.runner.run([this.binary, ...args])
  }

  private check(result: RunResult): RunResult {
    if (result.exitCode === 0) return result
    const failure = classifyFailure(result)
    throw new ZpoolError(result, failure, NEXT_STEPS[failure])
  }
}

/** OpenZFS prints "no pools available" to stderr with nothing on stdout (zfs-fuse prints it to stdout). */
function noPoolsOnStderr(result: RunResult): boolean {
  return result.stdout.trim() === '' && result.stderr.trim() === 'no pools available'
}

function rejectsOption(result: RunResult): boolean {
  return /invalid option|unrecognized option|illegal option/i.test(result.stderr)
}

const NEXT_STEPS: Record<ZpoolFailure, string> = {
  missing: 'Install ZFS (Debian/Ubuntu: `apt install zfsutils-linux`; small boards: `apt install zfs-fuse`), then run `lnstore status` again.',
  'not-running': 'Load the ZFS kernel module (`modprobe zfs`) or start the zfs-fuse daemon (`systemctl start zfs-fuse`), then run `lnstore status` again.',
  permission: 'Run lnstore as root (for example `sudo lnstore status --no-alert` from a monitoring user, allowed by one sudoers line), or on OpenZFS give the user access to /dev/zfs (a group set by a udev rule; `zfs allow` for dataset operations).',
  'no-such-pool': 'Check the pool name with `zpool list`; if the pool is exported, import it with `zpool import <pool>`.',
  busy: 'Wait until `zpool status` shows the running scrub or resilver finished, then try again.',
  timeout: 'zpool did not answer: the pool may be suspended or a device hung. Check `dmesg` and `zpool status` by hand.',
  failed: 'Run the command above by hand to see the full error.',
}

/** Sorts a zpool failure into the cases an operator can act on. */
export function classifyFailure(result: RunResult): ZpoolFailure {
  const text = `${result.stderr}\n${result.stdout}`
  if (result.timedOut || (result.exitCode === null && !result.signal)) return 'timeout'
  if (result.exitCode === 127 || /command not found|No such file or directory.*zpool|ENOENT/.test(text)) return 'missing'
  // Before "not running": zfs-fuse answers a non-root user "connect: Permission denied" and then
  // "failed to initialize ZFS library", as if the daemon were down.
  if (/permission denied|must be root|insufficient privileges|Operation not permitted/i.test(text)) return 'permission'
  if (/modules are not loaded|zfs-fuse daemon is running|failed to initialize ZFS library|\/dev\/zfs.*(No such|not found)/i.test(text)) {
    return 'not-running'
  }

  if (/no such pool/i.test(text)) return 'no-such-pool'
  if (/currently (scrubbing|resilvering)/i.test(text)) return 'busy'
  return 'failed'
}

function describeFailure(result: RunResult, failure: ZpoolFailure): string {
  const detail = result.stderr.trim().split('\n')[0] ?? ''
  switch (failure) {
    case 'missing':
      return 'zpool is not installed (not found on PATH)'
    case 'not-running':
      return `ZFS is not running: ${detail}`
    case 'permission':
      return `permission denied (${detail}): reading the pools needs root, or access to ZFS's control device`
    case 'timeout':
      return `no answer within ${ZFS_TIMEOUT_MS / 1000} s; the process was killed`
    default:
      return detail || `exit code ${result.exitCode}`
  }
}

/** Parses `zpool list -H[p] -o name,size,allocated,free,capacity,health` (exact or abbreviated numbers). */
export function parseCapacityList(output: string): PoolCapacity[] {
  return output
    .split('\n')
    // zfs-fuse prints "no pools available" on stdout, where OpenZFS prints it on stderr.
    .filter((line) => line.trim() !== '' && line.trim() !== 'no pools available')
    .map((line) => {
      const [name, size, allocated, free, capacity, health] = line.split('\t')
      return {
        name,
        sizeBytes: parseNiceNumber(size ?? ''),
        allocatedBytes: parseNiceNumber(allocated ?? ''),
        freeBytes: parseNiceNumber(free ?? ''),
        capacityPercent: parseNiceNumber((capacity ?? '').replace('%', '')),
        health: health ?? 'UNKNOWN',
      }
    })
}
