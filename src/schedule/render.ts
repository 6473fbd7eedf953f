import {formatTime} from '../alerts/compose.js'
import {commandLine} from '../system/runner.js'
import {describeWeekly} from './calendar.js'
import type {SchedulePlan, Step} from './apply.js'
import type {ScheduleShow} from './plan.js'

/** One line per step: what it writes, removes or runs. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'write':
      return `write ${step.path} (mode ${step.mode.toString(8)})`
    case 'remove':
      return step.keepCopy ? `remove ${step.path} (changed by hand: keeping your version in ${step.keepCopy.path})` : `remove ${step.path}`
    case 'run':
      return `run: ${commandLine(step.argv)}`
    default:
      return step.manifest ? `record what was installed in ${step.path}` : `forget the install record ${step.path}`
  }
}

/** The plan as `--dry-run` prints it: every step, and every file's exact content. */
export function renderPlan(plan: SchedulePlan, options: {contents: boolean}): string {
  const lines: string[] = []
  if (plan.steps.length === 0) lines.push('nothing to change: everything is as planned')
  for (const step of plan.steps) {
    lines.push(describeStep(step))
    if (options.contents && step.kind === 'write') lines.push(...step.content.trimEnd().split('\n').map((line) => `    | ${line}`))
  }

  for (const note of plan.notes) lines.push(`note: ${note}`)
  return lines.join('\n')
}

export function renderShow(show: ScheduleShow): string {
  const {installed} = show
  const lines: string[] = []
  if (installed && show.next) {
    const how = {systemd: 'systemd timers', cron: 'a cron.d file', monitor: 'the lnstore monitor service'}[installed.kind]
    const delay = installed.kind === 'cron' || installed.randomDelayMinutes === 0 ? '' : ` plus a random delay of up to ${installed.randomDelayMinutes} min`
    lines.push(
      `installed: ${how}, on ${formatTime(installed.installedAt)}`,
      `weekly scrub: ${describeWeekly(installed.scrub)}; next ${formatTime(show.next.scrub)}${delay}`,
      `health check: every ${installed.checkEverySeconds / 60} min; next ${formatTime(show.next.check)}`,
      ...show.files.map((file) => `  ${file.path}  (${file.state})`),
      ...installed.properties.map((change) => `  ${change.property}=disable on ${change.pool} (remove restores it)`),
    )
  } else {
    lines.push('not installed: `lnstore schedule install` sets up the weekly scrub and the health check')
  }

  for (const note of show.notes) lines.push(`note: ${note}`)
  return lines.join('\n')
}
