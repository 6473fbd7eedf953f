import {createInterface} from 'node:readline/promises'

import {RunbookError} from './engine.js'

/** A refusal before anything was changed: exit code 2, with what to run instead. */
export class Refusal extends RunbookError {
  readonly exitCode = 2
}

/**
 * Asks before a destructive runbook. `--yes` answers for scripts; without a terminal and without
 * --yes there is nobody to ask, so the answer is no.
 */
export async function confirm(question: string, options: {yes: boolean}): Promise<boolean> {
  if (options.yes) return true
  if (!process.stdin.isTTY) return false
  const prompt = createInterface({input: process.stdin, output: process.stderr})
  try {
    return (await prompt.question(`${question} Type "yes" to go ahead: `)).trim() === 'yes'
  } finally {
    prompt.close()
  }
}

/** Asks; a no (or nobody to ask) is a refusal that says nothing was changed. */
export async function confirmOrRefuse(question: string, options: {yes: boolean}): Promise<void> {
  if (await confirm(question, options)) return
  const why = process.stdin.isTTY ? 'not confirmed' : 'lnstore asks before changing the system and there is no terminal to ask on'
  throw new Refusal(`nothing was changed: ${why}; run again with --yes (or --dry-run to see exactly what it would do)`, [])
}
