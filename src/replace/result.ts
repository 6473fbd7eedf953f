import {downtimeSeconds} from '../node/steps.js'
import type {PlanEntry} from '../runbook/engine.js'
import type {ReplaceContext} from './plan.js'

export interface ReplaceResult {
  action: 'planned' | 'replaced' | 'resumed' | 'aborted'
  plan: PlanEntry[]
  notes: string[]
  pool: string
  failing: string
  newDevice: string
  restart: ReplaceContext['restart']
  /** The new disk's SMART short self-test, when it ran. */
  selfTest: ReplaceContext['selfTestOutcome'] | null
  /** data_version and quick_check before the stop, at the stop, and before the restart. */
  freshness: ReplaceContext['freshness']
  downtimeSeconds: number | null
  /** What became of the removed device, which still holds an old copy of the channel database. */
  oldDevice?: {path: string; labelsCleared: boolean; warning?: string}
  /** After --abort: the pool's state as zpool reports it. */
  poolState?: string
}

/** The result from the context, in which the steps recorded their readings and times as they ran. */
export function replaceResult(action: ReplaceResult['action'], context: ReplaceContext, plan: PlanEntry[], notes: string[]): ReplaceResult {
  return {
    action,
    plan,
    notes,
    pool: context.pool,
    failing: context.failing,
    newDevice: context.newDevice,
    restart: context.restart,
    selfTest: context.selfTestOutcome ?? null,
    freshness: context.freshness,
    downtimeSeconds: downtimeSeconds(context),
  }
}

/** What a finished replace says, with the next command. */
export function renderDone(result: ReplaceResult): string {
  const lines = [`Done: ${result.failing} replaced by ${result.newDevice} in ${result.pool}.`]
  if (result.selfTest) lines.push(`SMART short self-test of ${result.selfTest.device}: ${result.selfTest.result} (${result.selfTest.detail}).`)
  const version = result.freshness.beforeStart?.dataVersion ?? result.freshness.atStop?.dataVersion
  if (version !== undefined) lines.push(`The node's database: data_version ${version}, quick_check ok.`)
  lines.push(result.downtimeSeconds === null ? 'The node was not stopped by lnstore.' : `The node was down for ${result.downtimeSeconds.toFixed(1)} s.`)
  if (result.oldDevice?.warning) lines.push(`WARNING: ${result.oldDevice.warning}`)
  else if (result.oldDevice?.labelsCleared) lines.push(`The ZFS labels of ${result.oldDevice.path} are cleared: it cannot be imported with the old data.`)
  lines.push('Next: lnstore status')
  return lines.join('\n')
}
