import {createInterface} from 'node:readline/promises'

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
