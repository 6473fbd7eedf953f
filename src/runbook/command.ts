import * as Flags from '@oclif/core/flags'

import type {Config} from '../config/schema.js'
import type {RunbookKind} from '../storage/backend.js'
import {storageBackend} from '../storage/load.js'
import {confirmOrRefuse, Refusal} from './confirm.js'
import {openJournal, planOf, Runbook, RunbookError, setAsideDamagedJournal, unfinishedRunError, type AbortOutcome, type PlanEntry, type Step} from './engine.js'
import {continueOpenRun, progressStyle, renderPlan, runWithProgress} from './progress.js'

/**
 * The envelope of every runbook command (init, replace-disk, heal): root, the open journal,
 * --resume/--abort, the plan, --dry-run, the confirmation, the run with its progress, and the exit
 * codes (2 for every refusal before anything changed, 1 for a step that failed). A command gives
 * its flags, how to plan a new run, and how to render its result.
 */

/** The flags every runbook command has; `abort` says what taking back means for this runbook. */
export function runbookFlags(options: {abort: string; exclusive?: string[]}) {
  const exclusive = options.exclusive ?? []
  return {
    'dry-run': Flags.boolean({description: 'Print the plan with the exact commands and stop.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (for scripts; needed without a terminal).', env: 'LNSTORE_YES'}),
    resume: Flags.boolean({description: 'Continue the run that stopped, from the first step not done.', exclusive: ['abort', ...exclusive]}),
    abort: Flags.boolean({description: options.abort, exclusive: ['resume', ...exclusive]}),
  }
}

export interface RunbookFlagValues {
  'dry-run': boolean
  yes: boolean
  resume: boolean
  abort: boolean
}

/** How a runbook command shows things: the command's own output, so tests and --json see the same. */
export interface RunbookOutput {
  json: boolean
  /** Standard output: the plan and the result (not under --json). */
  log(text: string): void
  /** Standard error: progress. */
  logToStderr(line: string): void
  now(): number
}

/** A new run, planned: what the envelope shows, asks about and runs. */
export interface PlannedRun<C> {
  context: C
  steps: Step<C>[]
  plan: PlanEntry[]
  notes: string[]
  /** What the confirmation asks about: what the run erases or stops. */
  question: string
}

export type RunbookAction = 'planned' | 'done' | 'resumed' | 'aborted'

/** What a runbook command plans and shows, once its config is loaded. */
export interface RunbookCommand<C, R> {
  stateDir: string
  /** The steps of the run recorded in the journal, from its context (for --resume and --abort). */
  steps(context: C): Step<C>[] | Promise<Step<C>[]>
  /** Plans a new run, or returns the result at once when there is nothing to do. */
  plan(): Promise<PlannedRun<C> | {nothingToDo: R}>
  /** The result (rendered on standard output unless --json) once planned, done, resumed or aborted (then with what was put back). */
  finish(action: RunbookAction, context: C, plan: PlanEntry[], notes: string[], aborted?: AbortOutcome): Promise<R> | R
  /** One line on the state of what the run touches, for its failure and abort messages. */
  describeState?(context: C): Promise<string>
}

/**
 * The envelope of runbook `kind`: refuses at once without root (unless --dry-run), before the
 * config is read; `run` then does the rest.
 */
export function runbookEnvelope(output: RunbookOutput, options: {kind: string; needsRoot: string; flags: RunbookFlagValues}) {
  const {kind, flags} = options
  if (!flags['dry-run'] && process.getuid?.() !== 0) {
    throw new Refusal(`${options.needsRoot}: run it as root (sudo). --dry-run shows the plan without root.`, [])
  }

  return {run: <C, R>(command: RunbookCommand<C, R>) => runRunbook(output, kind, flags, command)}
}

async function runRunbook<C, R>(output: RunbookOutput, kind: string, flags: RunbookFlagValues, command: RunbookCommand<C, R>): Promise<R> {
  const {stateDir} = command
  const style = progressStyle({json: output.json, terminal: process.stderr})
  const log = (line: string) => output.logToStderr(line)
  // A journal that cannot be read must not block every run forever: --abort sets it aside.
  const aside = flags.abort ? await setAsideDamagedJournal(stateDir, kind, output.now()) : null
  if (aside) {
    throw new RunbookError(`the journal of the last \`lnstore ${kind}\` run was damaged: it is set aside as ${aside} and the run is closed, but nothing could be put back, because what it did cannot be read`, [
      'lnstore status    # see the state of the pool and the node, and put back by hand what it shows',
    ])
  }

  const journal = await openJournal<C>(stateDir, kind)
  const describeState = command.describeState?.bind(command)
  if (flags.resume || flags.abort) {
    if (!journal) throw new Refusal(`there is no stopped \`lnstore ${kind}\` run to continue or take back`, [`lnstore ${kind} --help`])
    const {context, steps, aborted} = await continueOpenRun<C>({journal, stateDir, abort: flags.abort, style, log, now: output.now, steps: (recorded) => command.steps(recorded), describeState})
    return command.finish(flags.abort ? 'aborted' : 'resumed', context, planOf(steps), [], aborted)
  }

  if (journal) {
    const open = unfinishedRunError(journal)
    throw new Refusal(open.message, open.nextSteps)
  }

  const planned = await command.plan()
  if ('nothingToDo' in planned) return planned.nothingToDo
  const {context, steps, plan, notes} = planned
  if (!output.json) output.log(renderPlan(kind, plan, notes, flags['dry-run']))
  if (flags['dry-run']) return command.finish('planned', context, plan, notes)
  await confirmOrRefuse(planned.question, {yes: flags.yes})
  await runWithProgress(style, steps, log, (onEvent) => new Runbook<C>({kind, stateDir, steps, onEvent, now: output.now, describeState}).start(context))
  return command.finish('done', context, plan, notes)
}

/** Refuses (exit 2, touching nothing) a runbook the config's storage has no use for, saying what to run instead. */
export async function requireRunbook(config: Pick<Config, 'mode'>, kind: RunbookKind): Promise<void> {
  const backend = await storageBackend(config)
  const unsupported = backend.unsupported[kind]
  if (unsupported) throw new Refusal(unsupported.reason, [unsupported.next])
}
