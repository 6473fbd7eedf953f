import {expect} from 'chai'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runbookEnvelope, type RunbookCommand, type RunbookOutput} from '../../src/runbook/command.js'
import type {Refusal} from '../../src/runbook/confirm.js'
import {journalPath, openJournal, planOf, Runbook, RunbookError, type RunbookEvent, type Step} from '../../src/runbook/engine.js'

interface Context {
  log: string[]
}

/** Steps that record what they did in a shared list; `failing` holds the ids that throw. */
function makeSteps(done: string[], failing: Set<string>): Step<Context>[] {
  return ['one', 'two', 'three'].map((id) => ({
    id,
    title: `Step ${id}`,
    commands: [['echo', id]],
    async run() {
      if (failing.has(id)) throw new Error(`${id} broke`)
      done.push(id)
    },
    undo: {
      title: `Undo ${id}`,
      commands: [],
      async run() {
        done.push(`undo-${id}`)
      },
    },
  }))
}

describe('runbook engine', () => {
  const context = {log: []}

  it('runs the steps in order and records each in the journal', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const done: string[] = []
    const events: string[] = []
    const steps = makeSteps(done, new Set())
    await new Runbook({kind: 'demo', stateDir, steps, onEvent: (event: RunbookEvent) => events.push(`${event.type}:${event.id}`)}).start(context)
    expect(done).to.deep.equal(['one', 'two', 'three'])
    expect(events).to.deep.equal(['step-start:one', 'step-done:one', 'step-start:two', 'step-done:two', 'step-start:three', 'step-done:three'])
    const journal = JSON.parse(readFileSync(journalPath(stateDir, 'demo'), 'utf8'))
    expect(journal.state).to.equal('completed')
    expect(journal.steps.map((step: {status: string}) => step.status)).to.deep.equal(['done', 'done', 'done'])
    expect(await openJournal(stateDir, 'demo')).to.equal(null)
    expect(planOf(steps).map((entry) => entry.commands)).to.deep.equal([['echo one'], ['echo two'], ['echo three']])
  })

  it('tells a resumed step when it first began, so an interrupted step can account for what it started', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    let clock = 1000
    const seen: number[] = []
    const steps: Step<Context>[] = [{id: 'wait', title: 'Wait', commands: [], async run(_context, _report, {firstStartedAt}) {
      seen.push(firstStartedAt)
      if (seen.length === 1) throw new Error('interrupted')
    }}]
    await new Runbook({kind: 'demo', stateDir, steps, now: () => clock}).start(context).catch(() => {})
    clock = 5000
    await new Runbook({kind: 'demo', stateDir, steps, now: () => clock}).resume(context)
    expect(seen).to.deep.equal([1000, 1000])
  })

  it('stops at a failing step, refuses a new start, and resumes from that step', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const done: string[] = []
    const failing = new Set(['two'])
    const steps = makeSteps(done, failing)
    const error = await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch((error_: unknown) => error_)
    expect(error).to.be.instanceOf(RunbookError)
    expect((error as RunbookError).message).to.equal('step "Step two" failed: two broke')
    expect((error as RunbookError).nextSteps[0]).to.match(/^lnstore demo --resume/)
    expect((await openJournal(stateDir, 'demo'))?.state).to.equal('failed')

    const again = await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch((error_: Error) => error_.message)
    expect(again).to.equal('an earlier `lnstore demo` run is not finished: it stopped at "Step two"')

    failing.clear()
    const events: string[] = []
    await new Runbook({kind: 'demo', stateDir, steps, onEvent: (event) => events.push(`${event.type}:${event.id}`)}).resume(context)
    expect(done).to.deep.equal(['one', 'two', 'three'])
    expect(events[0]).to.equal('step-skipped:one')
  })

  it('re-runs a step that was running when the process died (steps are safe to run twice)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const done: string[] = []
    const steps = makeSteps(done, new Set())
    const path = journalPath(stateDir, 'demo')
    await new Runbook({kind: 'demo', stateDir, steps}).start(context)
    // What SIGKILL during step two leaves behind.
    const journal = JSON.parse(readFileSync(path, 'utf8'))
    journal.state = 'running'
    journal.steps[1].status = 'running'
    journal.steps[2].status = 'pending'
    writeFileSync(path, JSON.stringify(journal))
    done.length = 0
    await new Runbook({kind: 'demo', stateDir, steps}).resume(context)
    expect(done).to.deep.equal(['two', 'three'])
  })

  it('abort takes back the steps that ran, newest first', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const done: string[] = []
    const steps = makeSteps(done, new Set(['three']))
    await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch(() => {})
    await new Runbook({kind: 'demo', stateDir, steps}).abort(context)
    expect(done).to.deep.equal(['one', 'two', 'undo-three', 'undo-two', 'undo-one'])
    expect(await openJournal(stateDir, 'demo')).to.equal(null)
  })

  it('keeps what the done steps recorded in the context, for a resume', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const steps: Step<{reading?: number}>[] = [
      {id: 'read', title: 'Read', commands: [], run: async (ctx) => void (ctx.reading = 42)},
      {id: 'fail', title: 'Fail', commands: [], run: async () => Promise.reject(new Error('power cut'))},
    ]
    await new Runbook({kind: 'demo', stateDir, steps}).start({}).catch(() => {})
    expect((await openJournal<{reading?: number}>(stateDir, 'demo'))?.context).to.deep.equal({reading: 42})
  })
})


describe('runbook command envelope', () => {
  const flags = {'dry-run': false, yes: true, resume: false, abort: false}
  const quiet = {json: true, log() {}, logToStderr() {}, now: () => Date.now()}

  /** Runs a command over makeSteps through the envelope; `done` collects the steps run. */
  function run(output: RunbookOutput, stateDir: string, done: string[], options: {flags?: Partial<typeof flags>; failing?: string[]} = {}): Promise<string> {
    const steps = makeSteps(done, new Set(options.failing))
    const command: RunbookCommand<Context, string> = {
      stateDir,
      steps: () => steps,
      plan: async () => ({context: {log: []}, steps, plan: planOf(steps), notes: [], question: 'Go?'}),
      finish: (action) => action,
    }
    return runbookEnvelope(output, {kind: 'demo', needsRoot: 'demo changes things', flags: {...flags, ...options.flags}}).run(command)
  }

  it('--dry-run plans and runs nothing; a run runs every step', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-envelope-'))
    const done: string[] = []
    const shown: string[] = []
    expect(await run({...quiet, json: false, log: (text) => shown.push(text)}, stateDir, done, {flags: {'dry-run': true}})).to.equal('planned')
    expect(done).to.deep.equal([])
    expect(shown.join('\n')).to.contain('lnstore demo would (dry run, nothing is changed):\n  1. Step one\n       $ echo one')
    expect(await run(quiet, stateDir, done)).to.equal('done')
    expect(done).to.deep.equal(['one', 'two', 'three'])
  })

  it('refuses with exit code 2, changing nothing: an open run, --resume with none, and no terminal to confirm on', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-envelope-'))
    const done: string[] = []
    const refusal = (promise: Promise<unknown>) => promise.then(() => expect.fail('not refused'), (error: Refusal) => error)
    const none = await refusal(run(quiet, stateDir, done, {flags: {resume: true}}))
    expect([none.exitCode, none.message]).to.deep.equal([2, 'there is no stopped `lnstore demo` run to continue or take back'])

    if (!process.stdin.isTTY) {
      const unconfirmed = await refusal(run(quiet, stateDir, done, {flags: {yes: false}}))
      expect([unconfirmed.exitCode, unconfirmed.message]).to.deep.equal([2, 'nothing was changed: lnstore asks before changing the system and there is no terminal to ask on; run again with --yes (or --dry-run to see exactly what it would do)'])
    }

    const failed = await run(quiet, stateDir, done, {failing: ['two']}).catch((error: RunbookError) => error)
    expect(failed).to.be.instanceOf(RunbookError).and.not.to.have.property('exitCode')
    const open = await refusal(run(quiet, stateDir, done))
    expect(open.exitCode).to.equal(2)
    expect(open.message).to.equal('an earlier `lnstore demo` run is not finished: it stopped at "Step two"')
    expect(done).to.deep.equal(['one'])

    expect(await run(quiet, stateDir, done, {flags: {resume: true}})).to.equal('resumed')
    expect(done).to.deep.equal(['one', 'two', 'three'])
  })
})
