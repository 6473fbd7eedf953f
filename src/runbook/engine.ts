import {join} from 'node:path'

import {readJsonFile, updateJsonFile} from '../state/json-file.js'
import {commandLine} from '../system/runner.js'

/**
 * The runbook engine: a list of small named steps over one typed context, each recorded in a
 * journal in the state directory before and after it runs. A run interrupted at any point (error,
 * Ctrl-C, SIGKILL, power cut) leaves a journal that `resume` continues from the first step not
 * done, or that `abort` unwinds. Every step must be safe to run twice: a step that was running when
 * the process died runs again on resume.
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

export interface Step<C> extends StepAction<C> {
  id: string
  /** How to take this step back on `abort`, once it is done; absent when there is nothing to undo. */
  undo?: StepAction<C>
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undone'

export interface Journal<C> {
  kind: string
  state: 'running' | 'failed' | 'completed' | 'aborted'
  createdAt: number
  updatedAt: number
  /** The run's context as it was planned, with what the done steps recorded in it, so `resume` needs no flags. */
  context: C
  steps: {id: string; title: string; status: StepStatus; startedAt?: number; endedAt?: number; error?: string}[]
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
}

export function journalPath(stateDir: string, kind: string): string {
  return join(stateDir, 'runbooks', `${kind}.json`)
}

/** The plan: every step with the exact commands it will run. */
export function planOf<C>(steps: Step<C>[]): PlanEntry[] {
  return steps.map(({id, title, commands, detail}) => ({id, title, commands: commands.map(commandLine), ...(detail ? {detail} : {})}))
}

/** The open journal of this kind, if a run has not completed or been aborted. */
export async function openJournal<C>(stateDir: string, kind: string): Promise<Journal<C> | null> {
  const journal = await readJsonFile<Journal<C> | null>(journalPath(stateDir, kind), null)
  return journal && (journal.state === 'running' || journal.state === 'failed') ? journal : null
}

/** The refusal to start while an earlier run of the same kind is open. */
export function unfinishedRunError(journal: Journal<unknown>): RunbookError {
  const stoppedAt = journal.steps.find((step) => step.status !== 'done')?.title ?? 'its end'
  return new RunbookError(`an earlier \`lnstore ${journal.kind}\` run is not finished: it stopped at "${stoppedAt}"`, [
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
    const open = await openJournal<C>(this.options.stateDir, this.options.kind)
    if (open) throw unfinishedRunError(open)

    const now = this.now()
    await this.write(() => ({
      kind: this.options.kind,
      state: 'running',
      createdAt: now,
      updatedAt: now,
      context,
      steps: this.options.steps.map(({id, title}) => ({id, title, status: 'pending'})),
    }))
    await this.continue(context)
  }

  /** Continues an open run from the first step not done, with the context it was planned with. */
  async resume(context: C): Promise<void> {
    await this.write((journal) => ({...this.require(journal), state: 'running'}))
    await this.continue(context)
  }

  /** Takes back the done steps, newest first, then closes the journal. */
  async abort(context: C): Promise<void> {
    const journal = this.require(await readJsonFile<Journal<C> | null>(this.path, null))
    const done = new Set(journal.steps.filter((step) => step.status === 'done' || step.status === 'failed' || step.status === 'running').map((step) => step.id))
    for (const step of [...this.options.steps].reverse()) {
      if (!done.has(step.id) || !step.undo) continue
      const {undo} = step
      this.emit({type: 'undo-start', id: step.id, title: undo.title})
      try {
        await undo.run(context, (message) => this.emit({type: 'message', id: step.id, title: undo.title, message}), {firstStartedAt: this.now()})
      } catch (error) {
        throw new RunbookError(`could not take back "${step.title}": ${(error as Error).message}`, [
          `fix the cause, then: lnstore ${this.options.kind} --abort`,
        ])
      }

      await this.setStep(step.id, {status: 'undone', endedAt: this.now()})
      this.emit({type: 'undo-done', id: step.id, title: undo.title})
    }

    await this.write((current) => ({...this.require(current), state: 'aborted'}))
  }

  private async continue(context: C): Promise<void> {
    const journal = this.require(await readJsonFile<Journal<C> | null>(this.path, null))
    for (const step of this.options.steps) {
      const recorded = journal.steps.find((entry) => entry.id === step.id)
      if (recorded?.status === 'done') {
        this.emit({type: 'step-skipped', id: step.id, title: step.title})
        continue
      }

      // A step resumed after a crash keeps the time it first began.
      const firstStartedAt = recorded?.startedAt ?? this.now()
      await this.setStep(step.id, {status: 'running', startedAt: firstStartedAt})
      this.emit({type: 'step-start', id: step.id, title: step.title})
      try {
        await step.run(context, (message) => this.emit({type: 'message', id: step.id, title: step.title, message}), {firstStartedAt})
      } catch (error) {
        const message = (error as Error).message
        await this.setStep(step.id, {status: 'failed', endedAt: this.now(), error: message})
        await this.write((current) => ({...this.require(current), state: 'failed'}))
        this.emit({type: 'step-failed', id: step.id, title: step.title, error: message})
        throw new RunbookError(`step "${step.title}" failed: ${message}`, [
          `lnstore ${this.options.kind} --resume    # after fixing the cause: continue from this step`,
          `lnstore ${this.options.kind} --abort     # take back what was done`,
        ])
      }

      // Steps may record what they learned in the context (a reading, a time): keep it for a resume.
      await this.setStep(step.id, {status: 'done', endedAt: this.now()}, context)
      this.emit({type: 'step-done', id: step.id, title: step.title})
    }

    await this.write((current) => ({...this.require(current), state: 'completed'}))
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
