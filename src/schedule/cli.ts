import * as Flags from '@oclif/core/flags'

import {confirmOrRefuse} from '../runbook/confirm.js'
import type {Deps} from '../system/deps.js'
import {systemdRuns} from '../system/systemd.js'
import {applyPlan, type SchedulePlan} from './apply.js'
import {cronInstalled, type ScheduleEnvironment} from './plan.js'
import {describeStep, renderPlan} from './render.js'

/** Where the schedule's files go; tests point them into a temporary root. */
export const pathFlags = {
  'systemd-dir': Flags.string({description: 'Directory for systemd units.', default: '/etc/systemd/system', env: 'LNSTORE_SYSTEMD_DIR', helpGroup: 'PATHS'}),
  'cron-dir': Flags.string({description: 'Directory for cron.d files (and where Debian\'s zfsutils-linux scrub job is looked for).', default: '/etc/cron.d', env: 'LNSTORE_CRON_DIR', helpGroup: 'PATHS'}),
  'zed-dir': Flags.string({description: "ZED's zedlet directory.", default: '/etc/zfs/zed.d', env: 'LNSTORE_ZED_DIR', helpGroup: 'PATHS'}),
}

export const changeFlags = {
  'dry-run': Flags.boolean({description: 'Print exactly what would be written, removed and run; change nothing.', default: false, env: 'LNSTORE_DRY_RUN'}),
  yes: Flags.boolean({char: 'y', description: 'Do not ask before changing the system (for scripts; needed without a terminal).', default: false, env: 'LNSTORE_YES'}),
}

export async function scheduleEnvironment(flags: {'systemd-dir': string; 'cron-dir': string; 'zed-dir': string}, stateDir: string): Promise<ScheduleEnvironment> {
  return {paths: {systemdDir: flags['systemd-dir'], cronDir: flags['cron-dir'], zedDir: flags['zed-dir']}, stateDir, systemdRunning: await systemdRuns(), cronInstalled: await cronInstalled()}
}

export interface ScheduleChange {
  dryRun: boolean
  /** True when the steps were carried out. */
  applied: boolean
  steps: string[]
  notes: string[]
}

/** Shows the plan, asks (unless --yes or --dry-run), carries it out step by step. */
export async function carryOut(
  deps: Deps,
  plan: SchedulePlan,
  options: {stateDir: string; dryRun: boolean; yes: boolean; question: string; log: (text: string) => void},
): Promise<ScheduleChange> {
  const result = {dryRun: options.dryRun, applied: false, steps: plan.steps.map(describeStep), notes: plan.notes}
  options.log(renderPlan(plan, {contents: options.dryRun}))
  if (options.dryRun || plan.steps.length === 0) return result
  await confirmOrRefuse(options.question, {yes: options.yes})

  await applyPlan(deps, plan, options.stateDir, (step) => options.log(`✔ ${describeStep(step)}`))
  return {...result, applied: true}
}
