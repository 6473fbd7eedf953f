import {chmod, mkdir, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

import {writeFileAtomically, writeJsonAtomically} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import {runChecked} from '../system/runner.js'
import {manifestPath, readManifest, type ScheduleManifest} from './manifest.js'

/** The executor of schedule plans: writes, removes and runs exactly the steps the planner listed. */

export type Step =
  | {kind: 'write'; path: string; content: string; mode: number}
  /** `keepCopy`: the file was changed since install; its content is saved there before it goes. */
  | {kind: 'remove'; path: string; keepCopy?: {path: string; content: string}}
  | {kind: 'run'; argv: string[]}
  | {kind: 'manifest'; path: string; manifest: ScheduleManifest | null}

export interface SchedulePlan {
  steps: Step[]
  /** What the operator should know: other scrub jobs found, units not enabled, copies kept. */
  notes: string[]
  /** The manifest as it will be after the steps (null after remove). */
  manifest: ScheduleManifest | null
}

/** Carries out the steps in order. The manifest first lists every file the run may leave behind, so a crash halfway never orphans one. */
export async function applyPlan(deps: Deps, plan: SchedulePlan, stateDir: string, onStep: (step: Step) => void): Promise<void> {
  const final = plan.steps.find((step) => step.kind === 'manifest')
  const previous = await readManifest(stateDir)
  if (final?.manifest && previous) {
    const files = [...final.manifest.files, ...previous.files.filter((entry) => !final.manifest!.files.some((file) => file.path === entry.path))]
    await mkdir(stateDir, {recursive: true, mode: 0o700})
    await writeJsonAtomically(manifestPath(stateDir), {...final.manifest, files, units: [...new Set([...previous.units, ...final.manifest.units])]})
  } else if (final?.manifest) {
    await mkdir(stateDir, {recursive: true, mode: 0o700})
    await writeJsonAtomically(manifestPath(stateDir), final.manifest)
  }

  for (const step of plan.steps) {
    onStep(step)
    if (step.kind === 'write') {
      await mkdir(dirname(step.path), {recursive: true})
      await writeFileAtomically(step.path, step.content, step.mode)
      await chmod(step.path, step.mode)
    } else if (step.kind === 'remove') {
      if (step.keepCopy) {
        await mkdir(dirname(step.keepCopy.path), {recursive: true, mode: 0o700})
        await writeFileAtomically(step.keepCopy.path, step.keepCopy.content)
      }

      await unlink(step.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    } else if (step.kind === 'run') {
      await runChecked(deps.runner, step.argv)
    } else if (step.manifest) {
      await writeJsonAtomically(step.path, step.manifest)
    } else {
      await unlink(step.path).catch(() => {})
    }
  }
}
