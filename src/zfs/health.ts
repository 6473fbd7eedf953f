import type {HealthConfig} from '../config/schema.js'
import {deviceKey, type History, type ScrubRecord} from '../state/history.js'
import {errorIncrements, errorRates, withoutSettledSharedErrors, worstBurst, type ErrorIncrement, type ErrorRates, type Fallout} from './error-rates.js'
import {isLeaf, walkVdevs, type DataErrors, type Pool, type StatusReport, type Vdev} from './status-model.js'
import type {PoolCapacity} from './zpool.js'
import {formatBytes, formatDuration} from '../storage/units.js'
import {worst, type Finding, type Verdict} from '../storage/verdict.js'

export interface DeviceHealth {
  key: string
  verdict: Verdict
  findings: Finding[]
  rates: ErrorRates | null
}

export interface PoolHealth {
  name: string
  verdict: Verdict
  findings: Finding[]
  /** Health of each device, by the vdev object in the report's tree. */
  devices: Map<Vdev, DeviceHealth>
  lastScrub: ScrubRecord | null
  capacityPercent: number | null
}

export interface HealthReport {
  verdict: Verdict
  findings: Finding[]
  pools: PoolHealth[]
}

export interface HealthInput {
  report: StatusReport
  /** `zpool list` figures; null when not available (saved input from another machine). */
  capacity: PoolCapacity[] | null
  history: History
  config: HealthConfig
  now: number
  /** Extra pool-level findings from outside the status output (the data directory's mount). */
  extraFindings?: Finding[]
  /** Devices an unfinished `lnstore replace-disk` run is replacing: advice for them is to continue it, never `zpool online`. */
  replacing?: {pool: string; device: string; command: string}[]
}

export function evaluateHealth(input: HealthInput): HealthReport {
  const pools = input.report.pools.map((pool) => evaluatePool(pool, input))
  const findings: Finding[] = [...(input.extraFindings ?? [])]
  if (input.report.allHealthy) {
    findings.push({verdict: 'OK', message: 'zpool reports all pools healthy (`zpool status -x`: no details to judge)'})
  } else if (pools.length === 0) {
    findings.push({verdict: 'UNKNOWN', message: 'no pools are imported, so nothing protects the node data', next: 'zpool import'})
  }

  return {verdict: worst([...pools.map((pool) => pool.verdict), ...findings.map((f) => f.verdict)]), findings, pools}
}

function evaluatePool(pool: Pool, input: HealthInput): PoolHealth {
  const {config, now} = input
  const findings: Finding[] = []
  const devices = new Map<Vdev, DeviceHealth>()
  const {increments, settled, fallout} = deviceIncrements(pool, input.history, latestScrub(pool, input.history.scrubs[pool.name])?.endedAt ?? null)
  const onFiles = poolOnFiles(pool)
  for (const top of pool.vdevs) for (const vdev of walkVdevs([top])) if (isLeaf(vdev)) devices.set(vdev, evaluateDevice(pool, top, vdev, onFiles, input, increments.get(vdev), fallout.get(vdev)))
  findings.push(...settled)

  findings.push(...stateFindings(pool))
  if (!pool.complete) findings.push({verdict: 'UNKNOWN', message: 'the status output is incomplete (truncated?), so the pool cannot be judged', next: `zpool status ${pool.name}`})
  // A count of null is "List of errors unavailable" (suspended pool, no permission): unknown, not damage.
  if (pool.errors && ((pool.errors.count ?? 0) > 0 || pool.errors.files.length > 0)) findings.push(...permanentErrorFindings(pool, pool.errors))

  const sharedCauses = commonCauseFindings(pool, devices)
  for (const vdev of pool.vdevs) findings.push(...pointAtSharedCause(redundancyFindings(pool, vdev, onFiles, input.replacing ?? []), sharedCauses.get(vdev)))
  for (const [vdev, shared] of sharedCauses) {
    findings.push(shared)
    for (const member of walkVdevs([vdev])) {
      const health = devices.get(member)
      if (health) devices.set(member, {...health, findings: pointAtSharedCause(health.findings, shared)})
    }
  }

  const lastScrub = latestScrub(pool, input.history.scrubs[pool.name])
  findings.push(...scanFindings(pool, lastScrub, config, now, firstSeen(pool, input.history, now)))

  const capacity = input.capacity?.find((entry) => entry.name === pool.name)
  const capacityPercent = capacity?.capacityPercent ?? null
  if (capacityPercent !== null) {
    const over = capacityPercent >= config.capacityCriticalPercent ? 'CRITICAL' : capacityPercent >= config.capacityWarningPercent ? 'WARNING' : null
    if (over) findings.push({verdict: over, message: `pool is ${capacityPercent}% full; ZFS slows down and fragments when full`, next: `zfs list -o space -r ${pool.name}`})
  }

  const verdict = worst([...findings.map((f) => f.verdict), ...[...devices.values()].map((d) => d.verdict)])
  return {name: pool.name, verdict, findings, devices, lastScrub, capacityPercent}
}

/** Core Lightning's database (default name), with SQLite's side files. zpool may print `dataset:/path` for an unmounted dataset. */
const NODE_DATABASE = /(^|[/:])lightningd\.sqlite3(-wal|-shm|-journal)?$/
const LISTED_FILES = 10

function permanentErrorFindings(pool: Pool, errors: DataErrors): Finding[] {
  const {files} = errors
  // Without -v zpool counts damaged blocks ("187 data errors, use '-v' for a list"), with -v it lists files.
  const counted = /^\d+ data errors?/.exec(errors.raw)
  const named = files.length === 0 ? '' : ` in ${files.length} file${files.length === 1 ? '' : 's'}: ${files.slice(0, LISTED_FILES).join(', ')}${files.length > LISTED_FILES ? `, and ${files.length - LISTED_FILES} more` : ''}`
  const findings: Finding[] = [
    {
      verdict: 'CRITICAL',
      message: `permanent data errors${named}${counted ? ` (zpool counts ${counted[0]})` : ''}: ZFS read no good copy of them. A passing fault (a cable, a suspended pool) leaves such entries for blocks that are whole again; a scrub re-reads every block and drops those, so what it leaves listed is damage`,
      // One scrub drops the entries of blocks that read back whole (OpenZFS 2.1 and 2.3, measured in the VM);
      // lnstore scrub exits non-zero while damage stays, so the counters are reset only on a pool found whole.
      next: `lnstore scrub --wait --pool ${pool.name} && zpool clear ${pool.name}`,
    },
  ]
  const database = files.find((file) => NODE_DATABASE.test(file))
  if (database) {
    findings.push({
      verdict: 'CRITICAL',
      message: `${database} is the node's channel database, and it is damaged. ZFS's advice to "restore the file from backup" is exactly the hazard here: an older copy holds revoked channel states, and a node that broadcasts one loses the whole channel to its peer`,
      next: 'keep lightningd stopped and do not copy any older database over it; if lightningd kept a second live copy (wallet=sqlite3://main:backup), check it with `sqlite3 <copy> "PRAGMA integrity_check"` and start on it only if it is as new as the last write; otherwise, as a last resort, start lightningd on a fresh data directory holding only hsm_secret and emergency.recover and run `lightning-cli emergencyrecover`: the peers close the channels with their latest state',
    })
  }

  return findings
}

function stateFindings(pool: Pool): Finding[] {
  switch (pool.state) {
    case 'ONLINE':
      return []
    case 'DEGRADED':
      return [{verdict: 'WARNING', message: 'pool is DEGRADED: a device has failed or is offline', next: `zpool status -v ${pool.name}`}]
    case 'SUSPENDED':
      return [
        {
          verdict: 'CRITICAL',
          message: `pool is SUSPENDED (zpool prints it as ${pool.printedState ?? 'UNAVAIL'}): ZFS stopped all I/O after device failures; the node cannot write, and a scrub or resilver stands still. Fix the cause first: reconnect or power the failed device (see \`dmesg\`); once it is back, clear the pool and check again`,
          next: `zpool clear ${pool.name} && lnstore status`,
        },
      ]
    case 'FAULTED':
    case 'UNAVAIL':
      return [{verdict: 'CRITICAL', message: `pool is ${pool.state}: its data cannot be read`, next: `zpool status -v ${pool.name}`}]
    default:
      return [{verdict: 'UNKNOWN', message: `pool state "${pool.state}" is not one lnstore knows`, next: `zpool status -v ${pool.name}`}]
  }
}

/**
 * Each leaf's error increments from its history (null: no history), without the errors that every
 * member of its vdev gained at once and that a `zpool clear` settled since; those are said once, as OK.
 */
function deviceIncrements(pool: Pool, history: History, scrubEndedAt: number | null): {increments: Map<Vdev, ErrorIncrement[] | null>; settled: Finding[]; fallout: Map<Vdev, Fallout>} {
  const increments = new Map<Vdev, ErrorIncrement[] | null>()
  const fallout = new Map<Vdev, Fallout>()
  const settled: Finding[] = []
  for (const top of pool.vdevs) {
    const members = [...walkVdevs([top])].filter(isLeaf)
    const own = members.map((vdev) => history.devices[deviceKey(pool, vdev)]?.samples)
    const cleaned = tolerance(top) > 0 && own.every(Boolean) ? withoutSettledSharedErrors(own.map((samples) => errorIncrements(samples!)), scrubEndedAt) : null
    for (const [index, vdev] of members.entries()) {
      increments.set(vdev, cleaned ? cleaned.increments[index] : own[index] ? errorIncrements(own[index]) : null)
      if (cleaned) fallout.set(vdev, cleaned.fallout[index])
    }

    if (cleaned && cleaned.settled.some((count) => count > 0)) {
      settled.push({
        verdict: 'OK',
        message: `errors came on every member of ${top.name} at once (${members.map((vdev, index) => `${vdev.name}: ${cleaned.settled[index]}`).join(', ')}) before the last \`zpool clear\`: a shared cause (cable, controller, the pool suspended), not counted against the disks`,
      })
    }
  }

  return {increments, settled, fallout}
}

function evaluateDevice(pool: Pool, top: Vdev, vdev: Vdev, onFiles: boolean, input: HealthInput, increments: ErrorIncrement[] | null = null, fallout?: Fallout): DeviceHealth {
  const {config, now} = input
  const key = deviceKey(pool, vdev)
  const findings: Finding[] = []
  const replace = replaceAdvice(pool, top, vdev, onFiles)

  const run = input.replacing?.find((entry) => entry.pool === pool.name && [vdev.name, vdev.path, vdev.guid].includes(entry.device))
  if (run) {
    // Its state is the run's doing (offline, being replaced): the only advice is to finish or abort the run.
    findings.push({verdict: 'CRITICAL', message: `an unfinished \`lnstore replace-disk\` run is replacing this device (it is ${vdev.state ?? 'in an unknown state'})`, next: run.command})
    return {key, verdict: 'CRITICAL', findings, rates: null}
  }

  findings.push(...deviceStateFindings(pool, vdev, onFiles, replace))
  if (vdev.notes.includes('too many errors')) {
    findings.push({verdict: 'CRITICAL', message: 'ZFS marked it "too many errors"', next: replace})
  }

  const rates = increments ? errorRates(increments, now, config.slowBurn.days) : null
  const cksumBurst = worstBurst(increments ?? [], 'cksum', config.checksumBurst)
  const ioBurst = worstBurst(increments ?? [], 'io', config.ioBurst)
  for (const [burst, rule, kind] of [
    [cksumBurst, config.checksumBurst, 'checksum'],
    [ioBurst, config.ioBurst, 'read/write'],
  ] as const) {
    if (burst && burst.errors >= rule.errors) {
      findings.push({
        verdict: 'CRITICAL',
        message: `${burst.errors} ${kind} errors within ${formatDuration((burst.to - burst.from) / 1000)} (ZFS's own fault threshold is ${rule.errors} in ${formatDuration(rule.seconds)}): the device is failing`,
        next: replace,
      })
    }
  }

  if (rates && rates.lastWindow >= config.slowBurn.errors) {
    findings.push({
      verdict: 'CRITICAL',
      message: `${rates.lastWindow} errors over the last ${rates.windowDays} days: plan a replacement before it fails outright`,
      next: replace,
    })
  } else if (rates && rates.lastDay > 0) {
    findings.push({
      verdict: 'WARNING',
      message: `${rates.lastDay} new error${rates.lastDay === 1 ? '' : 's'} in the last day (${rates.lastHour} in the last hour)`,
      next: `zpool status -v ${pool.name}`,
    })
  }

  if (fallout && fallout.errors > 0) findings.push(falloutFinding(pool, fallout))
  const counted = (vdev.read ?? 0) + (vdev.write ?? 0) + (vdev.cksum ?? 0)
  if (counted > (fallout?.errors ?? 0) && !findings.some((f) => f.verdict !== 'OK')) {
    findings.push({
      verdict: 'WARNING',
      message: `${vdev.read} read, ${vdev.write} write, ${vdev.cksum} checksum errors since the counters were last cleared; once the cause is understood, zpool clear ${pool.name} ${vdev.name}`,
      next: `zpool status -v ${pool.name}`,
    })
  }

  // A cache device holds only copies of pool data: its failure costs speed, never data.
  const capped = vdev.role === 'cache' ? findings.map((f) => (f.verdict === 'CRITICAL' ? {...f, verdict: 'WARNING' as const} : f)) : findings
  return {key, verdict: worst(capped.map((f) => f.verdict)), findings: capped, rates}
}

/**
 * Checksum errors a member showed right after the clear of errors on every member at once: blocks
 * it missed while it could not be written, repaired from its siblings. A scrub that finished clean
 * since proves every copy good; the counters are ZFS's to reset.
 */
function falloutFinding(pool: Pool, {errors, clearedAfter}: Fallout): Finding {
  const what = `${errors} checksum errors since the \`zpool clear\` after errors on every member at once: blocks it missed while it could not be written, repaired from the other side`
  const {scan} = pool
  if (scan.kind === 'scrub' && scan.state === 'finished' && scan.endedAt !== undefined && scan.endedAt > clearedAfter && scan.errors === 0) {
    return {verdict: 'OK', message: `${what}; the scrub that ended ${new Date(scan.endedAt).toISOString()} found every copy good (\`zpool clear ${pool.name}\` resets ZFS's counters)`}
  }

  return {verdict: 'WARNING', message: `${what}; a scrub proves every copy good, then the counters can be reset`, next: `lnstore scrub --wait --pool ${pool.name} && zpool clear ${pool.name}`}
}

/** dRAID's distributed spares (`draid1-0-0`): spare capacity inside the dRAID vdev, not a device one can pull or replace. */
export function isDistributedSpare(vdev: Vdev): boolean {
  return /^draid\d+-\d+-\d+$/.test(vdev.name)
}

/** The device a spare in use stands in for: its sibling under `spare-N` in the pool's tree. */
function standsInFor(pool: Pool, spare: string): Vdev | null {
  for (const vdev of walkVdevs(pool.vdevs)) {
    if (vdev.role === 'spare' || !/^spare-\d+$/.test(vdev.name) || !vdev.children.some((child) => child.name === spare)) continue
    return vdev.children.find((child) => child.name !== spare) ?? null
  }

  return null
}

function deviceStateFindings(pool: Pool, vdev: Vdev, onFiles: boolean, replace: string): Finding[] {
  if (vdev.role === 'spare') {
    if (vdev.state === 'INUSE') {
      // ZFS detaches the spare by itself once the failed device's replacement has resilvered.
      const original = standsInFor(pool, vdev.name)
      const kind = isDistributedSpare(vdev) ? 'distributed spare (dRAID: space spread over all the vdev\'s disks, not a disk)' : 'hot spare'
      if (original?.state === 'ONLINE') {
        return [{verdict: 'WARNING', message: `${kind} is in use beside ${original.name}, which is ONLINE again; detaching the spare returns it, and ${original.name} keeps the data`, next: `zpool detach ${pool.name} ${vdev.name}`}]
      }

      const top = original ? pool.vdevs.find((candidate) => [...walkVdevs([candidate])].includes(original)) : undefined
      return [
        {
          verdict: 'WARNING',
          message: `${kind} is in use in place of ${original?.name ?? 'a failed device'}; it returns to AVAIL by itself once the new disk has resilvered`,
          next: original && top ? replaceAdvice(pool, top, original, onFiles) : `zpool status -v ${pool.name}`,
        },
      ]
    }

    if (vdev.state !== 'AVAIL') return [{verdict: 'WARNING', message: `hot spare is ${vdev.state}: it cannot stand in for a failed device; remove it and add a working one (zpool add ${pool.name} spare <new-device>)`, next: replace}]
    return []
  }

  switch (vdev.state) {
    case 'ONLINE':
    case null:
      return []
    case 'OFFLINE':
      return [{verdict: 'WARNING', message: 'device is OFFLINE (taken offline by an operator)', next: `zpool online ${pool.name} ${vdev.name}`}]
    case 'DEGRADED':
      return [{verdict: 'CRITICAL', message: 'ZFS DEGRADED this device after too many checksum errors', next: replace}]
    case 'FAULTED':
      return [{verdict: 'CRITICAL', message: 'ZFS FAULTED this device after I/O errors', next: replace}]
    case 'UNAVAIL':
      return [{verdict: 'CRITICAL', message: `device cannot be opened (${vdev.notes.join(', ') || 'missing or failed'}); if it is only a loose cable or power, fix that instead`, next: replace}]
    case 'REMOVED':
      return [{verdict: 'CRITICAL', message: 'device was REMOVED (unplugged, or lost by its controller); if it was only unplugged, reconnect it instead', next: replace}]
    default:
      return [{verdict: 'UNKNOWN', message: `device state "${vdev.state}" is not one lnstore knows`, next: `zpool status -v ${pool.name}`}]
  }
}

/**
 * The command that replaces this device, as it will be accepted when run verbatim (with the new
 * device filled in). A single-device vdev has no other copy to replace from: attach a mirror to it.
 * The runbook, not a bare `zpool replace`: it stops the node first and never restarts it on older data.
 * `onFiles`: the pool is on files (poolOnFiles), judged once per pool by the caller.
 */
export function replaceAdvice(pool: Pool, top: Vdev, vdev: Vdev, onFiles: boolean): string {
  const files = onFiles ? ' --allow-files' : ''
  // A distributed spare cannot be replaced: its errors are the errors of the dRAID's disks.
  if (isDistributedSpare(vdev)) return `zpool status -v ${pool.name}`
  // A cache or spare device holds no data of its own: take it out (and add a working one).
  if (vdev.role === 'cache' || vdev.role === 'spare') return `zpool remove ${pool.name} ${vdev.name}`
  if (top === vdev) return `zpool attach ${pool.name} ${vdev.name} <new-device>`
  const missing = top.children.filter(isMissing)
  const left = tolerance(top) - missing.length
  if (!isMissing(vdev)) {
    // One of the last readable copies: ZFS cannot take it out. The missing member is what to replace.
    if (left <= 0 && missing.length > 0) return `lnstore replace-disk ${missing[0].name} <new-device>${files}`
    // Replacing it lowers the redundancy that is left to none: the runbook asks for that to be said.
    if (left === 1) return `lnstore replace-disk ${vdev.name} <new-device>${files} --i-understand`
  }

  return `lnstore replace-disk ${vdev.name} <new-device>${files}`
}

/**
 * zpool names files by their path: a pool on files is a trial, and its new device a file too.
 * A walk over the whole pool: judged once per pool (evaluatePool), never per device, or a
 * 4,500-device pool takes seconds.
 */
function poolOnFiles(pool: Pool): boolean {
  const isFile = (name: string) => name.startsWith('/') && !name.startsWith('/dev/')
  return [...walkVdevs(pool.vdevs)].some((leaf) => isLeaf(leaf) && isFile(leaf.path ?? leaf.name))
}

/** How many member failures a top-level vdev survives, from its type in the name (`mirror-0`, `raidz2-0`, `draid1:...`). */
function tolerance(vdev: Vdev): number {
  if (isLeaf(vdev)) return 0
  if (/^mirror/.test(vdev.name)) return vdev.children.length - 1
  const parity = /^(?:raidz|draid)(\d)?/.exec(vdev.name)
  return parity ? Number(parity[1] ?? 1) : 0
}

const MISSING_STATES = new Set(['OFFLINE', 'FAULTED', 'UNAVAIL', 'REMOVED'])

export function isMissing(vdev: Vdev): boolean {
  if (isLeaf(vdev)) return vdev.state !== null && MISSING_STATES.has(vdev.state)
  // replacing-N / spare-N stand for one member: present while any of their devices is.
  return vdev.children.every(isMissing)
}

/** The top-level vdevs holding pool data that have no redundant copy left (or never had one). */
export function vdevsWithoutRedundancy(pool: Pool): string[] {
  return pool.vdevs
    .filter((vdev) => vdev.role !== 'cache' && vdev.role !== 'spare' && vdev.role !== 'log')
    .filter((vdev) => tolerance(vdev) - (isLeaf(vdev) ? 0 : vdev.children.filter(isMissing).length) <= 0)
    .map((vdev) => vdev.name)
}

function redundancyFindings(pool: Pool, vdev: Vdev, onFiles: boolean, replacing: NonNullable<HealthInput['replacing']>): Finding[] {
  if (vdev.role === 'cache' || vdev.role === 'spare') return []
  const survives = tolerance(vdev)
  const members = isLeaf(vdev) ? [vdev] : vdev.children
  const missing = members.filter(isMissing).map((member) => member.name)
  if (isLeaf(vdev)) {
    if (vdev.role === 'log') return []
    return [{verdict: 'WARNING', message: `${vdev.name} is a single device with no redundancy: if it fails, the pool's data is lost`, next: `zpool attach ${pool.name} ${vdev.name} <new-device>`}]
  }

  if (missing.length === 0) return []
  const left = survives - missing.length
  // The way back: finish the run replacing a member, bring back one taken offline, or replace one that failed.
  const first = members.find(isMissing)!
  const run = replacing.find((entry) => entry.pool === pool.name && members.some((member) => isMissing(member) && [member.name, member.path, member.guid].includes(entry.device)))
  const next = run ? run.command : first.state === 'OFFLINE' && isLeaf(first) ? `zpool online ${pool.name} ${first.name}` : replaceAdvice(pool, vdev, first, onFiles)
  if (left <= 0) {
    return [{verdict: 'CRITICAL', message: `${vdev.name} has no redundant copy left (${missing.join(', ')} missing): one more failure loses data`, next}]
  }

  return [{verdict: 'WARNING', message: `${vdev.name} has lost redundancy (${missing.join(', ')} missing) and survives ${left} more failure${left === 1 ? '' : 's'}`, next}]
}

/**
 * When every member of a mirror (or most of a raidz) gains errors together, the disks are rarely
 * all failing at once: a shared cable, USB bridge, controller or power supply is.
 */
function commonCauseFindings(pool: Pool, devices: Map<Vdev, DeviceHealth>): Map<Vdev, Finding> {
  const findings = new Map<Vdev, Finding>()
  const erring = (vdev: Vdev) => {
    const health = devices.get(vdev)
    if (health?.rates) return health.rates.lastDay > 0
    return (vdev.read ?? 0) + (vdev.write ?? 0) + (vdev.cksum ?? 0) > 0
  }

  for (const vdev of pool.vdevs) {
    const members = vdev.children.filter(isLeaf)
    if (members.length < 2 || tolerance(vdev) === 0) continue
    const count = members.filter(erring).length
    const together = /^mirror/.test(vdev.name) ? count === members.length : count > members.length / 2
    if (together) {
      findings.set(vdev, {
        verdict: 'WARNING',
        message: `${count} of ${members.length} members of ${vdev.name} have errors at once: this points at a shared cable, USB bridge, controller or power supply, not at the disks; replacing disks would not help. Check \`dmesg\` for link resets and the cabling first`,
        next: `zpool clear ${pool.name} && zpool scrub ${pool.name}`,
      })
    }
  }

  return findings
}

/**
 * While every member of a vdev errs at once, advice to replace one of them is wrong: the new disk
 * would sit behind the same cable or controller, and the resilver reads from members that err too.
 * Such findings keep their verdict and point at the shared cause's command instead.
 */
function pointAtSharedCause(findings: Finding[], shared: Finding | undefined): Finding[] {
  if (!shared) return findings
  return findings.map((finding) =>
    finding.next?.startsWith('lnstore replace-disk ') ? {...finding, message: `${finding.message}; but every member errs at once, so not the disk: fix the shared cause first`, next: shared.next} : finding,
  )
}

function latestScrub(pool: Pool, recorded: ScrubRecord | undefined): ScrubRecord | null {
  const {scan} = pool
  const shown =
    scan.kind === 'scrub' && scan.state === 'finished' && scan.endedAt !== undefined
      ? {endedAt: scan.endedAt, errors: scan.errors, repairedBytes: scan.repairedBytes, durationSeconds: scan.durationSeconds}
      : null
  if (shown && (!recorded || shown.endedAt >= recorded.endedAt)) return shown
  return recorded ?? null
}

/** When lnstore first saw the pool: its devices' oldest history sample (now, on the first look). */
function firstSeen(pool: Pool, history: History, now: number): number {
  const samples = Object.values(history.devices).filter((device) => device.pool === pool.name).flatMap((device) => device.samples.slice(0, 1).map((sample) => sample.t))
  return Math.min(now, ...samples)
}

function scanFindings(pool: Pool, lastScrub: ScrubRecord | null, config: HealthConfig, now: number, seenSince: number): Finding[] {
  const findings: Finding[] = []
  const {scan} = pool
  const progress = [scan.percent === null ? null : `${scan.percent}% done`, scan.secondsToGo === undefined ? null : `${formatDuration(scan.secondsToGo)} to go`]
    .filter(Boolean)
    .join(', ')
  if (scan.kind === 'resilver' && scan.state === 'in_progress') {
    findings.push({verdict: 'WARNING', message: `resilver in progress${progress ? ` (${progress})` : ''}: redundancy is being restored`, next: `zpool status ${pool.name}`})
  } else if (scan.kind === 'scrub' && scan.state === 'in_progress' && pool.state !== 'SUSPENDED') {
    findings.push({verdict: 'OK', message: `scrub in progress${progress ? ` (${progress})` : ''}`})
  } else if (scan.state === 'paused' && scan.pausedAt !== undefined && now - scan.pausedAt > config.scrubPausedMaxHours * 3_600_000) {
    findings.push({verdict: 'WARNING', message: `scrub paused for ${formatDuration((now - scan.pausedAt) / 1000)}`, next: `zpool scrub ${pool.name}`})
  }

  if (lastScrub) {
    const ageDays = (now - lastScrub.endedAt) / 86_400_000
    if (lastScrub.errors) {
      findings.push({verdict: 'CRITICAL', message: `the last scrub found ${lastScrub.errors} errors it could not repair`, next: `zpool status -v ${pool.name}`})
    } else if (lastScrub.repairedBytes) {
      findings.push({verdict: 'OK', message: `the last scrub repaired ${formatBytes(lastScrub.repairedBytes)} from redundant copies`})
    }

    if (ageDays > config.scrubMaxAgeDays && scan.state !== 'in_progress') {
      findings.push({verdict: 'WARNING', message: `last completed scrub was ${Math.floor(ageDays)} days ago (limit ${config.scrubMaxAgeDays})`, next: `zpool scrub ${pool.name}`})
    }
  } else if (!(scan.kind === 'scrub' && scan.state === 'in_progress')) {
    const why = scan.kind === null ? 'the pool has never been scrubbed' : 'no completed scrub is on record'
    // A pool new to lnstore (just created by init, or just watched) gets the same time as any scrub to come.
    const due = seenSince + config.scrubMaxAgeDays * 86_400_000
    if (now < due) findings.push({verdict: 'OK', message: `${why} yet; the first scrub is due within ${formatDuration((due - now) / 1000)} (the weekly timer, or now: zpool scrub ${pool.name})`})
    else findings.push({verdict: 'WARNING', message: `${why}: silent corruption would go unnoticed`, next: `zpool scrub ${pool.name}`})
  }

  return findings
}
