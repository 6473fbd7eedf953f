import {Runbook, type AbortOutcome, type Journal, type PlanEntry, type RunbookEvent, type Step} from './engine.js'

/** How a runbook's progress is shown: a live task list on a terminal, plain lines under cron, nothing under --json. */
export type ProgressStyle = 'tasks' | 'lines' | 'silent'

/**
 * A terminal that reports no width (a serial console, where `stty size` says 0 0: how many boards
 * are reached) gets plain lines too: the task list wraps at its width, and at 0 it printed one
 * character a line.
 */
export function progressStyle(options: {json: boolean; terminal: {isTTY?: boolean; columns?: number}}): ProgressStyle {
  if (options.json) return 'silent'
  return options.terminal.isTTY && (options.terminal.columns ?? 0) > 0 ? 'tasks' : 'lines'
}

const DONE_EVENTS = new Set(['step-done', 'undo-done'])

/** Plain lines, one per event: what cron mails and journald keeps. */
export function lineProgress(write: (line: string) => void): (event: RunbookEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'step-start':
      case 'undo-start':
        write(`▶ ${event.title}`)
        break
      case 'step-skipped':
        write(`✔ ${event.title} (done in an earlier run)`)
        break
      case 'step-failed':
        write(`✖ ${event.title}: ${event.error}`)
        break
      case 'message':
        write(`  ${event.message}`)
        break
      default:
        if (DONE_EVENTS.has(event.type)) write(`✔ ${event.title}`)
    }
  }
}

interface Waiter {
  settle(outcome: 'done' | 'skipped' | Error): void
  output(message: string): void
  outcome: Promise<'done' | 'skipped'>
}

/**
 * Runs `drive` (which runs the runbook and emits its events) while listr2 shows the items as a
 * live task list on standard error (standard output is for data). The engine stays the only
 * driver: each listr task just waits for its item's events.
 */
export async function withTaskList(items: {id: string; title: string}[], drive: (onEvent: (event: RunbookEvent) => void) => Promise<void>): Promise<void> {
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  const waiters = new Map<string, Waiter>()
  for (const item of items) {
    let settle!: Waiter['settle']
    const outcome = new Promise<'done' | 'skipped'>((resolve, reject) => {
      settle = (result) => (result instanceof Error ? reject(result) : resolve(result))
    })
    outcome.catch(() => {}) // listr reports it; an item never reached must not be an unhandled rejection
    waiters.set(item.id, {settle, output: () => {}, outcome})
  }

  const list = new Listr(
    items.map((item) => ({
      title: item.title,
      task: async (_context: unknown, task: {output: string; skip(message: string): void}) => {
        const waiter = waiters.get(item.id)!
        waiter.output = (message) => {
          task.output = message
        }

        if ((await waiter.outcome) === 'skipped') task.skip(`${item.title} (done in an earlier run)`)
      },
    })),
    {exitOnError: true, rendererOptions: {logger: new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})}},
  )
  const shown = list.run().catch(() => {})
  try {
    await drive((event) => {
      const waiter = waiters.get(event.id)
      if (!waiter) return
      if (event.type === 'message') waiter.output(event.message)
      else if (DONE_EVENTS.has(event.type)) waiter.settle('done')
      else if (event.type === 'step-skipped') waiter.settle('skipped')
      else if (event.type === 'step-failed') waiter.settle(new Error(event.error))
    })
  } catch (error) {
    for (const waiter of waiters.values()) waiter.settle(error as Error)
    throw error
  } finally {
    await shown
  }
}

/** Runs a runbook (through `drive`) showing its progress in the chosen style. */
export async function runWithProgress(
  style: ProgressStyle,
  items: {id: string; title: string}[],
  log: (line: string) => void,
  drive: (onEvent: (event: RunbookEvent) => void) => Promise<void>,
): Promise<void> {
  if (style === 'tasks') return withTaskList(items, drive)
  return drive(style === 'lines' ? lineProgress(log) : () => {})
}

/** The plan as shown before a runbook runs (and by --dry-run): each step with its exact commands. */
export function renderPlan(kind: string, plan: PlanEntry[], notes: string[], dryRun: boolean): string {
  const lines = [dryRun ? `lnstore ${kind} would (dry run, nothing is changed):` : `lnstore ${kind} will:`]
  for (const [index, step] of plan.entries()) {
    lines.push(`  ${index + 1}. ${step.title}`)
    for (const command of step.commands) lines.push(`       $ ${command}`)
    if (step.detail) lines.push(`       (${step.detail})`)
  }

  if (notes.length > 0) lines.push('', 'Notes:', ...notes.map((note) => `  - ${note}`))
  return lines.join('\n')
}

/** `--resume` or `--abort` of the open run in `journal`, with the context it records, shown in the chosen style. */
export async function continueOpenRun<C>(options: {
  journal: Journal<C>
  stateDir: string
  abort: boolean
  style: ProgressStyle
  log: (line: string) => void
  now: () => number
  steps: (context: C) => Step<C>[] | Promise<Step<C>[]>
  describeState?: (context: C) => Promise<string>
}): Promise<{context: C; steps: Step<C>[]; aborted?: AbortOutcome}> {
  const {journal, stateDir, abort} = options
  const {kind, context} = journal
  const steps = await options.steps(context)
  const items = abort ? steps.filter((step) => step.undo).map((step) => ({id: step.id, title: step.undo!.title})).reverse() : steps
  let aborted: AbortOutcome | undefined
  await runWithProgress(options.style, items, options.log, async (onEvent) => {
    const runbook = new Runbook({kind, stateDir, steps, onEvent, now: options.now, describeState: options.describeState})
    if (abort) aborted = await runbook.abort(context)
    else await runbook.resume(context)
  })
  return {context, steps, ...(aborted ? {aborted} : {})}
}
