import {join} from 'node:path'

import {rename} from 'node:fs/promises'

import {CorruptStateError, readJsonFile, updateJsonFile} from '../state/json-file.js'
import {RunHeldError, takeRunLock} from '../state/run-lock.js'
import {commandLine} from '../system/runner.js'

/**
 * The runbook engine: a list of small named steps over one typed context, each recorded in a
 * journal in the state directory before and after it runs. A run interrupted at any point (error,
 * Ctrl-C, SIGKILL, power cut) leaves a journal that `resume` continues from the first step not
 * done, or that `abort` unwinds. Every step must be safe to run twice: a step that was running when
 * the process died runs again on resume.
 *
 * Resume reconciles with the world rather than replaying the journal: before each step, every done
 * step that says how to observe its effect (`holds`) is asked whether that effect is still in place
 * (a node stopped by the run may have been started by someone else); one that is not is done again,
 * with the same checks, before the run goes on. Only one process runs a journal at a time: its
 * lock names the process by pid and start time, and another `--resume` is refused while it lives.
 *
 * The engine emits events; commands choose how to show them (listr2 on a terminal, plain lines
 * under cron, nothing under --json).
 */

export interface StepAction<C> {
  title: string
  /** The exact commands the step runs, for the plan (`--dry-run`); descriptions where it runs none. */
  commands: string[][]
  /** Words for what the step does when it runs no command (copying files, writing the config). */
  detail?: string
  /** `attempt.firstStartedAt`: when the step first began, also when an interrupted run of it is resumed. */
  run(context: C, report: (message: string) => void, attempt: {firstStartedAt: number}): Promise<void>
}

/** What a step does to the world, for those who read open journals (status, preflight, alerts). */
export type StepEffect = 'stops-node' | 'starts-node' | 'changes-pool'

export interface Step<C> extends StepAction<C> {
  id: string
  /** How to take this step back on `abort`, once it is done; absent when there is nothing to undo. */
  undo?: StepAction<C>
  effect?: StepEffect
  /**
   * Observes whether the done step's effect is still in place: null when it is, else what undid it
   * (then the step runs again before the run goes on). Asked until the step `heldUntil` is done.
   */
  holds?(context: C): Promise<string | null>
  heldUntil?: string
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undoing' | 'undone'

export interface JournalStep {
  id: string
  title: string
  status: StepStatus
  effect?: StepEffect
  startedAt?: number
  endedAt?: number
  error?: string
}

export interface Journal<C> {
  kind: string
  state: 'running' | 'failed' | 'completed' | 'aborted'
  createdAt: number
  updatedAt: number
  /** The run's context as it was planned, with what the done steps recorded in it, so `resume` needs no flags. */
  context: C
  steps: JournalStep[]
  /** After `abort`: what it put back and what it could not. */
  aborted?: AbortOutcome
}

export interface AbortOutcome {
  putBack: string[]
  couldNot: string[]
}

export type RunbookEvent =
  | {type: 'step-start' | 'step-done' | 'step-skipped' | 'undo-start' | 'undo-done'; id: string; title: string}
  | {type: 'step-failed'; id: string; title: string; error: string}
  | {type: 'message'; id: string; title: string; message: string}

export interface PlanEntry {
  id: string
  title: string
  commands: string[]
  detail?: string
}

/** A runbook that stopped at a step; says what state things are in and what to run next. */
export class RunbookError extends Error {
  constructor(
    message: string,
    readonly nextSteps: string[],
  ) {
    super(message)
    this.name = 'RunbookError'
  }
}

export interface RunbookOptions<C> {
  kind: string
  stateDir: string
  steps: Step<C>[]
  onEvent?: (event: RunbookEvent) => void
  now?: () => number
  /** One line on the state of everything the run touches (the node, the pool), for failure messages. */
  describeState?: (context: C) => Promise<string>
}

export function journalPath(stateDir: string, kind: string): string {
  return join(stateDir, 'runbooks', `${kind}.json`)
}

/** The lock naming the process that runs the journal now. */
export function runLockPath(stateDir: string, kind: string): string {
  return join(stateDir, 'runbooks', `${kind}.owner`)
}

/** The plan: every step with the exact commands it will run. */
export function planOf<C>(steps: Step<C>[]): PlanEntry[] {
  return steps.map(({id, title, commands, detail}) => ({id, title, commands: commands.map(commandLine), ...(detail ? {detail} : {})}))
}

/** The open journal of this kind, if a run has not completed or been aborted. */
export async function openJournal<C>(stateDir: string, kind: string): Promise<Journal<C> | null> {
  let journal: Journal<C> | null
  try {
    journal = await readJsonFile<Journal<C> | null>(journalPath(stateDir, kind), null)
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error
    throw new RunbookError(`the journal of the last \`lnstore ${kind}\` run is damaged (${error.message}): what that run did cannot be read back`, [
      `lnstore ${kind} --abort    # sets the damaged journal aside, so that a new run can start; then check: lnstore status`,
    ])
  }

  return journal && (journal.state === 'running' || journal.state === 'failed') ? journal : null
}

/**
 * Moves a damaged journal aside (kept for inspection): `--abort` of a run whose journal cannot be
 * read must still end it. Returns where it went, or null when the journal is readable.
 */
export async function setAsideDamagedJournal(stateDir: string, kind: string, now: number): Promise<string | null> {
  const path = journalPath(stateDir, kind)
  try {
    await readJsonFile<unknown>(path, null)
    return null
  } catch (error) {
    if (!(error instanceof CorruptStateError)) throw error
  }

  const aside = `${path}.damaged-${now}`
  await rename(path, aside)
  return aside
}

/** The step an open run stopped at: the one that failed or was running (or being undone), else the first not done. */
export function stoppedStep(journal: Journal<unknown>): JournalStep | null {
  return journal.steps.find((step) => step.status === 'failed' || step.status === 'running' || step.status === 'undoing') ?? journal.steps.find((step) => step.status !== 'done') ?? null
}

/** The refusal to start while an earlier run of the same kind is open. */
export function unfinishedRunError(journal: Journal<unknown>): RunbookError {
  const step = stoppedStep(journal)
  const stoppedAt = step ? `"${step.title}"${step.status === 'failed' && step.error ? ` (failed: ${step.error})` : ''}` : 'its end'
  return new RunbookError(`an earlier \`lnstore ${journal.kind}\` run is not finished: it stopped at ${stoppedAt}`, [
    `lnstore ${journal.kind} --resume    # continue from the first step not done`,
    `lnstore ${journal.kind} --abort     # take back what it did`,
  ])
}

export class Runbook<C> {
  private readonly path: string
  private readonly now: () => number

  constructor(private readonly options: RunbookOptions<C>) {
    this.path = journalPath(options.stateDir, options.kind)
    this.now = options.now ?? Date.now
  }

  /** Starts a new run; refuses while another run of this kind is open. */
  async start(context: C): Promise<void> {
    await this.holding(async () => {
      const open = await openJournal<C>(this.options.stateDir, this.options.kind)
      if (open) throw unfinishedRunError(open)

      const now = this.now()
      await this.write(() => ({
        kind: this.options.kind,
        state: 'running',
        createdAt: now,
        updatedAt: now,
        context,
        steps: this.options.steps.map(({id, title, effect}) => ({id, title, status: 'pending', ...(effect ? {effect} : {})})),
      }))
      await this.continue(context)
    })
  }

  /** Continues an open run from the first step not done, with the context it was planned with. */
  async resume(context: C): Promise<void> {
    await this.holding(async () => {
      await this.write((journal) => ({...this.require(journal), state: 'running'}))
      await this.continue(context)
    })
  }

  /**
   * Takes back the done steps, newest first, then closes the journal, always: an undo that cannot
   * be done is said (with why and the state things are in) instead of keeping the journal open
   * forever. Throws after closing when something could not be put back.
   */
  async abort(context: C): Promise<AbortOutcome> {
    return this.holding(async () => {
      const journal = this.require(await readJsonFile<Journal<C> | null>(this.path, null))
      const touched = new Set(journal.steps.filter((step) => ['done', 'failed', 'running', 'undoing'].includes(step.status)).map((step) => step.id))
      const outcome: AbortOutcome = {putBack: [], couldNot: []}
      for (const step of [...this.options.steps].reverse()) {
        if (!touched.has(step.id) || !step.undo) continue
        const {undo} = step
        const messages: string[] = []
        this.emit({type: 'undo-start', id: step.id, title: undo.title})
        await this.setStep(step.id, {status: 'undoing'})
        try {
          await undo.run(
            context,
            (message) => {
              messages.push(message)
              this.emit({type: 'message', id: step.id, title: undo.title, message})
            },
            {firstStartedAt: this.now()},
          )
          outcome.putBack.push(`${undo.title}${messages.length > 0 ? `: ${messages.join('; ')}` : ''}`)
          await this.setStep(step.id, {status: 'undone', endedAt: this.now()})
          this.emit({type: 'undo-done', id: step.id, title: undo.title})
        } catch (error) {
          const message = (error as Error).message
          outcome.couldNot.push(`${undo.title}: ${message}`)
          await this.setStep(step.id, {status: 'failed', endedAt: this.now(), error: message})
          this.emit({type: 'step-failed', id: step.id, title: undo.title, error: message})
        }
      }

      await this.write((current) => ({...this.require(current), state: 'aborted', aborted: outcome}))
      if (outcome.couldNot.length > 0) {
        const state = await this.describeState(context)
        throw new RunbookError(
          `the run is aborted (its journal is closed), but not everything could be put back:\n${outcome.couldNot.map((line) => `  - could not: ${line}`).join('\n')}${
            outcome.putBack.length > 0 ? `\n${outcome.putBack.map((line) => `  - put back: ${line}`).join('\n')}` : ''
          }${state ? `\nNow: ${state}` : ''}`,
          ['fix what could not be put back by hand (see above), then: lnstore status'],
        )
      }

      return outcome
    })
  }

  /** Runs `action` holding the journal's run lock: a second process is refused with the live holder's pid. */
  private async holding<T>(action: () => Promise<T>): Promise<T> {
    let release: () => Promise<void>
    try {
      release = await takeRunLock(runLockPath(this.options.stateDir, this.options.kind), this.now())
    } catch (error) {
      if (!(error instanceof RunHeldError)) throw error
      const {pid} = error.owner
      throw new RunbookError(`\`lnstore ${this.options.kind}\` is running now as pid ${pid} (since ${new Date(error.owner.since).toISOString()}): refusing to act on the same run twice`, [
        `wait until pid ${pid} ends (ps -p ${pid}), then: lnstore status`,
        `to interrupt it: kill ${pid}, then lnstore ${this.options.kind} --resume or --abort`,
      ])
    }

    try {
      return await action()
    } finally {
      await release()
    }
  }

  private async continue(context: C): Promise<void> {
    const journal = this.require(await readJsonFile<Journal<C> | null>(this.path, null))
    const done = new Set(journal.steps.filter((entry) => entry.status === 'done').map((entry) => entry.id))
    // A step that has begun may have brought about the change itself (the start step started the node): past it, no effect is redone.
    const begun = new Set(journal.steps.filter((entry) => ['running', 'failed', 'done'].includes(entry.status)).map((entry) => entry.id))
    for (const [index, step] of this.options.steps.entries()) {
      // The world may have undone what earlier steps did (a node started again by systemd or by hand): redo that first.
      await this.reconcile(context, index, done, begun)
      if (done.has(step.id)) {
        this.emit({type: 'step-skipped', id: step.id, title: step.title})
        continue
      }

      const recorded = journal.steps.find((entry) => entry.id === step.id)
      begun.add(step.id)
      await this.runStep(step, context, recorded?.startedAt)
      done.add(step.id)
    }

    await this.write((current) => ({...this.require(current), state: 'completed'}))
  }

  /** Before step `index`: each done step whose effect must still hold there, observed, and done again when it does not. */
  private async reconcile(context: C, index: number, done: Set<string>, begun: Set<string>): Promise<void> {
    const {steps} = this.options
    for (const earlier of steps.slice(0, index)) {
      if (!earlier.holds || !done.has(earlier.id)) continue
      const until = earlier.heldUntil ? steps.findIndex((step) => step.id === earlier.heldUntil) : -1
      if (until !== -1 && (until < index || begun.has(earlier.heldUntil!))) continue
      const undoneBy = await earlier.holds(context)
      if (!undoneBy) continue
      this.emit({type: 'message', id: earlier.id, title: earlier.title, message: `${undoneBy}: doing "${earlier.title}" again`})
      await this.runStep(earlier, context, undefined)
    }
  }

  private async runStep(step: Step<C>, context: C, startedAt: number | undefined): Promise<void> {
    // A step resumed after a crash keeps the time it first began.
    const firstStartedAt = startedAt ?? this.now()
    await this.setStep(step.id, {status: 'running', startedAt: firstStartedAt})
    this.emit({type: 'step-start', id: step.id, title: step.title})
    try {
      await step.run(context, (message) => this.emit({type: 'message', id: step.id, title: step.title, message}), {firstStartedAt})
    } catch (error) {
      const message = (error as Error).message
      await this.setStep(step.id, {status: 'failed', endedAt: this.now(), error: message})
      await this.write((current) => ({...this.require(current), state: 'failed'}))
      this.emit({type: 'step-failed', id: step.id, title: step.title, error: message})
      const state = await this.describeState(context)
      throw new RunbookError(`step "${step.title}" failed: ${message}${state ? `\nNow: ${state}` : ''}`, [
        `lnstore ${this.options.kind} --resume    # after fixing the cause: continue from this step`,
        `lnstore ${this.options.kind} --abort     # take back what was done`,
      ])
    }

    // Steps may record what they learned in the context (a reading, a time): keep it for a resume.
    await this.setStep(step.id, {status: 'done', endedAt: this.now()}, context)
    this.emit({type: 'step-done', id: step.id, title: step.title})
  }

  /** The state line, or nothing when it cannot be read (a failure message must not fail itself). */
  private async describeState(context: C): Promise<string> {
    if (!this.options.describeState) return ''
    return this.options.describeState(context).catch((error: Error) => `(could not read the state: ${error.message})`)
  }

  private emit(event: RunbookEvent): void {
    this.options.onEvent?.(event)
  }

  private require(journal: Journal<C> | null): Journal<C> {
    if (!journal) throw new RunbookError(`no \`${this.options.kind}\` run is open (no journal at ${this.path})`, [`lnstore ${this.options.kind} --help`])
    return journal
  }

  private setStep(id: string, fields: Partial<Journal<C>['steps'][number]>, context?: C): Promise<unknown> {
    return this.write((journal) => {
      const current = this.require(journal)
      return {...current, ...(context === undefined ? {} : {context}), steps: current.steps.map((step) => (step.id === id ? {...step, ...fields} : step))}
    })
  }

  private async write(update: (journal: Journal<C> | null) => Journal<C>): Promise<void> {
    await updateJsonFile<Journal<C> | null>(this.path, null, (journal) => ({...update(journal), updatedAt: this.now()}))
  }
}
