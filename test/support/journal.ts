import {existsSync, readFileSync} from 'node:fs'

/** replace-disk's steps up to the last one a kill can land after before the run ends ('start' takes milliseconds). */
export const REPLACE_STEPS_TO_KILL_AFTER = ['self-test', 'record', 'stop', 'replace', 'resilver', 'verify-pool', 'verify-data', 'clear']

/** A runbook journal's steps as the engine wrote them last; none while there is no journal. */
export function journalSteps(journal: string): {id: string; status: string}[] {
  return existsSync(journal) ? (JSON.parse(readFileSync(journal, 'utf8')).steps as {id: string; status: string}[]) : []
}

/** The ids of the steps the journal records as done. */
export function stepsDone(journal: string): string[] {
  return journalSteps(journal)
    .filter((step) => step.status === 'done')
    .map((step) => step.id)
}
