import type {Deps} from '../system/deps.js'
import {commandLine} from '../system/runner.js'

/**
 * The SMART short self-test replace-disk runs on a new disk before trusting it with the pool's
 * data: a disk that fails it in the first minutes would fail the resilver, with the pool already
 * running on one copy less. smartctl (smartmontools) does the work; lnstore starts the test, follows
 * it through `smartctl -j` and reads the verdict. Devices that cannot run one (files, loop and
 * virtual disks, RAID controllers, NVMe with an older smartctl) are skipped with the reason.
 */

export type SelfTestState =
  | {kind: 'running'; remainingPercent: number | null}
  | {kind: 'passed'; detail: string}
  | {kind: 'failed'; detail: string}
  | {kind: 'unsupported'; detail: string}

/** The parts of smartctl's JSON (`smartctl -j`, smartmontools 7.0+) that say how a self-test went. */
export interface SmartctlJson {
  smartctl?: {version?: number[]; exit_status?: number; messages?: {string: string; severity?: string}[]}
  device?: {protocol?: string}
  smart_status?: {passed?: boolean}
  ata_smart_data?: {self_test?: {status?: {value?: number; string?: string; passed?: boolean; remaining_percent?: number}; polling_minutes?: {short?: number}}}
  nvme_self_test_log?: {
    current_self_test_operation?: {value?: number; string?: string}
    current_self_test_completion_percent?: number
    table?: {self_test_code?: {value?: number}; self_test_result?: {value?: number; string?: string}}[]
  }
}

/** smartctl's exit status bits 0 and 1: the device type is unknown (files, loop devices) or it could not be opened. */
const EXIT_NO_DEVICE = 1 | 2
/** Bit 2: a SMART command to the disk failed (for `-t`: the test did not start). */
const EXIT_COMMAND_FAILED = 4
const HEALTH_FAILED = 'the SMART overall-health self-assessment says FAILED'

const messagesOf = (output: SmartctlJson) => (output.smartctl?.messages ?? []).map((message) => message.string).join('; ')

/** What one look at `smartctl -j -H -c` (ATA) or `-H -l selftest` (NVMe) says of the latest self-test. */
export function selfTestState(output: SmartctlJson): SelfTestState {
  const exitStatus = output.smartctl?.exit_status ?? 0
  const messages = messagesOf(output)
  if (exitStatus & EXIT_NO_DEVICE) return {kind: 'unsupported', detail: messages || 'smartctl could not open the device'}
  if (output.smart_status?.passed === false) return {kind: 'failed', detail: HEALTH_FAILED}

  const ata = output.ata_smart_data?.self_test?.status
  if (ata) {
    if (ata.remaining_percent !== undefined) return {kind: 'running', remainingPercent: ata.remaining_percent}
    if (ata.passed === true) return {kind: 'passed', detail: ata.string ?? 'completed without error'}
    // No `passed` at all: aborted or interrupted, so the disk was never shown to be good.
    return {kind: 'failed', detail: `the self-test ${ata.string ?? `ended with status ${ata.value}`}`}
  }

  const nvme = output.nvme_self_test_log
  if (nvme) {
    if (nvme.current_self_test_operation?.value) {
      const done = nvme.current_self_test_completion_percent
      return {kind: 'running', remainingPercent: done === undefined ? null : 100 - done}
    }

    const latest = nvme.table?.[0]?.self_test_result
    if (!latest) return {kind: 'unsupported', detail: 'the self-test log is empty after the test was started'}
    return latest.value === 0 ? {kind: 'passed', detail: latest.string ?? 'completed without error'} : {kind: 'failed', detail: `the self-test: ${latest.string ?? `result ${latest.value}`}`}
  }

  return {kind: 'unsupported', detail: messages || `smartctl reports no self-test for this ${output.device?.protocol ?? ''} device`.replace('  ', ' ')}
}

export interface SelfTestOutcome {
  device: string
  result: 'passed' | 'failed' | 'skipped'
  detail: string
}

export interface SelfTestOptions {
  pollMs?: number
  /** Give up (as failed) when the test has not finished by then; a short test takes about 2 minutes. */
  timeoutMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs a SMART short self-test on `device` and waits for its verdict; never touches the disk's data. */
export async function runShortSelfTest(deps: Deps, device: string, report: (message: string) => void, options: SelfTestOptions = {}): Promise<SelfTestOutcome> {
  const pollMs = options.pollMs ?? 5000
  const timeoutMs = options.timeoutMs ?? 15 * 60_000
  const skipped = (detail: string): SelfTestOutcome => ({device, result: 'skipped', detail})
  const look = async (argv: string[]) => {
    const result = await deps.runner.run(argv, {timeoutMs: 60_000})
    if (result.exitCode === 127) return null
    try {
      return JSON.parse(result.stdout) as SmartctlJson
    } catch {
      return {smartctl: {exit_status: EXIT_NO_DEVICE, messages: [{string: `${commandLine(argv)} printed no JSON: ${(result.stderr || result.stdout).trim().split('\n')[0]}`}]}}
    }
  }

  const before = await look(['smartctl', '-j', '-H', '-c', device])
  if (!before) return skipped('smartctl is not installed (apt install smartmontools)')
  // NVMe keeps its self-test state in a log page; ATA in the capabilities section.
  const nvme = before.device?.protocol === 'NVMe'
  const statusArgv = nvme ? ['smartctl', '-j', '-H', '-l', 'selftest', device] : ['smartctl', '-j', '-H', '-c', device]
  const first = selfTestState(nvme ? ((await look(statusArgv)) ?? before) : before)
  if (first.kind === 'unsupported') return skipped(first.detail)
  if (before.smart_status?.passed === false) return {device, result: 'failed', detail: HEALTH_FAILED}

  const start = (await look(['smartctl', '-j', '-t', 'short', device])) ?? {}
  const startStatus = start.smartctl?.exit_status ?? 0
  if (startStatus & EXIT_NO_DEVICE) return skipped(messagesOf(start) || 'smartctl could not open the device')
  // Without a test of ours running, the status would still show the previous test's verdict.
  if (startStatus & EXIT_COMMAND_FAILED) return {device, result: 'failed', detail: `the self-test did not start (${messagesOf(start) || 'the disk refused the command'}); another test may be running: smartctl -c ${device}`}
  const deadline = deps.now() + timeoutMs
  for (;;) {
    await sleep(pollMs)
    const state = selfTestState((await look(statusArgv)) ?? {})
    if (state.kind === 'running') {
      report(`SMART short self-test of ${device}: ${state.remainingPercent ?? '?'}% to go`)
      if (deps.now() >= deadline) return {device, result: 'failed', detail: `the self-test had not finished after ${timeoutMs / 60_000} minutes`}
      continue
    }

    if (state.kind === 'unsupported') return skipped(state.detail)
    return {device, result: state.kind, detail: state.detail}
  }
}
