import {expect} from 'chai'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {spawn} from 'node:child_process'

import {runbookEnvelope, type RunbookCommand, type RunbookOutput} from '../../src/runbook/command.js'
import type {Refusal} from '../../src/runbook/confirm.js'
import {progressStyle} from '../../src/runbook/progress.js'
import {journalPath, openJournal, planOf, Runbook, RunbookError, runLockPath, type RunbookEvent, type Step} from '../../src/runbook/engine.js'
import {openRunFindings, openRunStartFindings, readOpenRuns} from '../../src/runbook/open-runs.js'
import {processStartTime} from '../../src/state/run-lock.js'

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
    expect(again).to.equal('an earlier `lnstore demo` run is not finished: it stopped at "Step two" (failed: two broke)')

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

  it('resume reconciles: a done step whose effect the world undid is done again before the run goes on', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const world = {nodeRunning: true}
    const done: string[] = []
    const steps: Step<Context>[] = [
      {id: 'stop', title: 'Stop', commands: [], effect: 'stops-node', heldUntil: 'start', holds: async () => (world.nodeRunning ? 'the node runs again' : null), run: async () => void (done.push('stop'), (world.nodeRunning = false))},
      {id: 'work', title: 'Work', commands: [], run: async () => {
        done.push('work')
        if (done.filter((id) => id === 'work').length === 1) throw new Error('killed')
      }},
      {id: 'start', title: 'Start', commands: [], effect: 'starts-node', run: async () => void (done.push('start'), (world.nodeRunning = true))},
      {id: 'after', title: 'After', commands: [], run: async () => void done.push('after')},
    ]
    await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch(() => {})
    expect(done).to.deep.equal(['stop', 'work'])
    // Someone starts the node while the run is stopped: resume stops it again, then goes on.
    world.nodeRunning = true
    const messages: string[] = []
    await new Runbook({kind: 'demo', stateDir, steps, onEvent: (event) => event.type === 'message' && messages.push(event.message)}).resume(context)
    expect(done).to.deep.equal(['stop', 'work', 'stop', 'work', 'start', 'after'])
    expect(messages).to.deep.equal(['the node runs again: doing "Stop" again'])
  })

  it('resume does not undo what a step that had begun did itself: a node running once the start step began is not stopped again', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const world = {nodeRunning: true, answers: false}
    const done: string[] = []
    const steps: Step<Context>[] = [
      {id: 'stop', title: 'Stop', commands: [], effect: 'stops-node', heldUntil: 'start', holds: async () => (world.nodeRunning ? 'the node runs again' : null), run: async () => void (done.push('stop'), (world.nodeRunning = false))},
      {id: 'start', title: 'Start', commands: [], effect: 'starts-node', run: async () => {
        done.push('start')
        if (!world.answers) throw new Error('did not answer getinfo')
      }},
    ]
    await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch(() => {})
    // The operator starts the node by hand after the failed start: resume goes on from the start step.
    Object.assign(world, {nodeRunning: true, answers: true})
    await new Runbook({kind: 'demo', stateDir, steps}).resume(context)
    expect(done).to.deep.equal(['stop', 'start', 'start'])
  })

  it('abort always closes the journal, saying what it put back and what it could not', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const steps: Step<Context>[] = [
      {id: 'a', title: 'A', commands: [], run: async () => {}, undo: {title: 'Undo A', commands: [], run: async (_c, report) => report('A is back')}},
      {id: 'b', title: 'B', commands: [], run: async () => {}, undo: {title: 'Undo B', commands: [], run: async () => Promise.reject(new Error('data changed'))}},
      {id: 'c', title: 'C', commands: [], run: async () => Promise.reject(new Error('broke'))},
    ]
    await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch(() => {})
    const error = await new Runbook({kind: 'demo', stateDir, steps, describeState: async () => 'pool ONLINE; node stopped'}).abort(context).catch((caught: Error) => caught)
    expect(error).to.be.instanceOf(RunbookError)
    expect((error as Error).message).to.equal('the run is aborted (its journal is closed), but not everything could be put back:\n  - could not: Undo B: data changed\n  - put back: Undo A: A is back\nNow: pool ONLINE; node stopped')
    expect(await openJournal(stateDir, 'demo')).to.equal(null)
    // Closed: a new run may start.
    await new Runbook({kind: 'demo', stateDir, steps: steps.slice(0, 1)}).start(context)
  })

  it("refuses a second process while the journal's live owner (pid and start time) runs it, and takes over a dead owner's lock", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const steps = makeSteps([], new Set(['two']))
    await new Runbook({kind: 'demo', stateDir, steps}).start(context).catch(() => {})
    const other = spawn('sleep', ['30'])
    try {
      const owner = {pid: other.pid!, startTime: processStartTime(other.pid!), since: 1_700_000_000_000}
      writeFileSync(runLockPath(stateDir, 'demo'), JSON.stringify(owner))
      const refused = await new Runbook({kind: 'demo', stateDir, steps}).resume(context).catch((caught: Error) => caught)
      expect((refused as Error).message).to.equal(`\`lnstore demo\` is running now as pid ${other.pid} (since 2023-11-14T22:13:20.000Z): refusing to act on the same run twice`)
      const [run] = await readOpenRuns(stateDir)
      expect(run.live?.pid).to.equal(other.pid)
      expect(openRunFindings([run])[0].next).to.equal(`tail --pid=${other.pid} -f /dev/null; lnstore status`)
      // The same pid with another start time is another process (pid reuse): not the owner.
      writeFileSync(runLockPath(stateDir, 'demo'), JSON.stringify({...owner, startTime: owner.startTime! - 1}))
      expect((await readOpenRuns(stateDir))[0].live).to.equal(null)
    } finally {
      other.kill()
    }

    await new Runbook({kind: 'demo', stateDir, steps: makeSteps([], new Set())}).resume(context)
    expect(await openJournal(stateDir, 'demo')).to.equal(null)
  })

  it('open runs: CRITICAL while the node is stopped by one, with the command that continues it; the start gate refuses unless the run itself starts the node', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    const steps: Step<Record<string, unknown>>[] = [
      {id: 'stop', title: 'Stop the node', commands: [], effect: 'stops-node', run: async () => {}},
      {id: 'offline', title: 'Take vdb offline', commands: [], effect: 'changes-pool', run: async () => Promise.reject(new Error('busy'))},
      {id: 'start', title: 'Start the node', commands: [], effect: 'starts-node', run: async () => {}},
    ]
    await new Runbook({kind: 'replace-disk', stateDir, steps, now: () => 1_700_000_000_000}).start({pool: 'tank', failing: 'vdb', nodeWasRunning: true}).catch(() => {})
    const runs = await readOpenRuns(stateDir)
    expect(runs).to.have.length(1)
    expect(runs[0]).to.deep.include({kind: 'replace-disk', nodeStopped: true, touchedStorage: true, startingNode: false, pool: 'tank', device: 'vdb', command: 'lnstore replace-disk --resume'})
    expect(openRunFindings(runs)).to.deep.equal([
      {
        verdict: 'CRITICAL',
        message: 'an unfinished `lnstore replace-disk` run since 2023-11-14T22:13:20.000Z, failed at "Take vdb offline" (busy); the node is STOPPED by it. Continue it with `lnstore replace-disk --resume`, or take it back with `lnstore replace-disk --abort`',
        next: 'lnstore replace-disk --resume',
      },
    ])
    expect(openRunStartFindings(runs).map((finding) => finding.verdict)).to.deep.equal(['CRITICAL'])
    // While this very run (alive) starts the node, the gate lets it through.
    expect(openRunStartFindings([{...runs[0], startingNode: true}])).to.deep.equal([])
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

  it('a damaged journal: a new run is refused with the way out, and --abort sets it aside and closes the run', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'lnstore-runbook-'))
    await run(quiet, stateDir, [], {failing: ['two']}).catch(() => {})
    writeFileSync(journalPath(stateDir, 'demo'), '{"kind": "demo", "sta')
    const refused = await run(quiet, stateDir, []).catch((caught: RunbookError) => caught)
    expect((refused as RunbookError).nextSteps[0]).to.match(/^lnstore demo --abort/)
    expect((await readOpenRuns(stateDir))[0]).to.deep.include({kind: 'demo', touchedStorage: true, command: 'lnstore demo --abort'})
    const aborted = await run({...quiet, now: () => 42}, stateDir, [], {flags: {abort: true}}).catch((caught: Error) => caught)
    expect((aborted as Error).message).to.contain(`it is set aside as ${journalPath(stateDir, 'demo')}.damaged-42 and the run is closed`)
    expect(await openJournal(stateDir, 'demo')).to.equal(null)
    expect(await readOpenRuns(stateDir)).to.deep.equal([])
    expect(await run(quiet, stateDir, [])).to.equal('done')
  })

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
    expect(open.message).to.equal('an earlier `lnstore demo` run is not finished: it stopped at "Step two" (failed: two broke)')
    expect(done).to.deep.equal(['one'])

    expect(await run(quiet, stateDir, done, {flags: {resume: true}})).to.equal('resumed')
    expect(done).to.deep.equal(['one', 'two', 'three'])
  })
})

describe('runbook progress style', () => {
  it('a live task list only on a terminal that reports its width; plain lines elsewhere; nothing under --json', () => {
    expect(progressStyle({json: false, terminal: {isTTY: true, columns: 120}})).to.equal('tasks')
    // a serial console: a terminal whose size is 0 x 0
    expect(progressStyle({json: false, terminal: {isTTY: true, columns: 0}})).to.equal('lines')
    expect(progressStyle({json: false, terminal: {isTTY: false}})).to.equal('lines')
    expect(progressStyle({json: true, terminal: {isTTY: true, columns: 120}})).to.equal('silent')
  })
})
