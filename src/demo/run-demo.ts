import type {Deps} from '../system/deps.js'
import {createDemo, running, type DemoOptions, type DemoReport, type DemoStep} from './context.js'
import {cleanup, DEMO_STEPS} from './steps.js'

/**
 * `lnstore demo`: the whole story of lnstore, for real, in a throwaway sandbox: a ZFS mirror on two
 * files, a Lightning node writing to it (the real lightningd when it is at hand, else a stand-in),
 * a corrupted disk found by a scrub, the alert mail, a disk replaced around the running node with
 * every write kept, and a start refused on an older copy of the data. Every step runs lnstore's own commands, as a user would.
 */

const STEP_END_WAIT_MS = 30_000

export async function runDemo(deps: Deps, options: DemoOptions): Promise<DemoReport> {
  const ctx = await createDemo(deps, options)
  const {report, say} = ctx
  let failed = false
  let cleaned = false
  let interrupted = false
  let current: Promise<string[]> = Promise.resolve([])
  const interrupt = () => {
    if (interrupted) return
    interrupted = true
    say('\nInterrupted: cleaning up')
    for (const child of running) child.kill('SIGTERM')
    // The step under way is let end first (its programs were just stopped): one still writing into
    // the sandbox (a backup of the database, a disk file) would leave it behind after the clean-up.
    const stepEnded = Promise.race([current.catch(() => {}), new Promise((resolve) => setTimeout(resolve, STEP_END_WAIT_MS))])
    if (!cleaned) void stepEnded.then(() => cleanup(ctx)).finally(() => process.exit(130))
  }

  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)
  try {
    for (const {id, title, run} of [...DEMO_STEPS, {id: 'cleanup', title: 'Clean up', run: cleanup}]) {
      const started = deps.now()
      say(`\n== ${title}`)
      let step: DemoStep
      if (failed && id !== 'cleanup') {
        step = {id, title, result: 'skipped', detail: ['an earlier step failed'], seconds: 0}
      } else {
        try {
          current = run(ctx)
          const detail = await current
          cleaned ||= id === 'cleanup'
          step = {id, title, result: 'passed', detail, seconds: 0}
        } catch (error) {
          failed = true
          step = {id, title, result: 'failed', detail: [(error as Error).message], seconds: 0}
        }
      }

      // Interrupted: the clean-up is under way and ends the process; no further step may start.
      if (interrupted) await new Promise(() => {})
      step.seconds = Math.round((deps.now() - started) / 100) / 10
      report.steps.push(step)
      for (const line of step.detail) say(`  ${step.result === 'passed' ? 'ok' : step.result.toUpperCase()}: ${line}`)
    }
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  }

  report.passed = report.steps.every((step) => step.result === 'passed')
  return report
}
