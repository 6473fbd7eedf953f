import {fstatSync} from 'node:fs'

/**
 * Whether standard output is a terminal, as `process.stdout.isTTY` says, without creating
 * process.stdout where fstat already tells: a file, pipe or socket (cron, monitoring, the journal)
 * is no terminal. Creating that stream loads Node's streams, ~4 ms of a health check's CPU.
 */
export function stdoutIsTerminal(): boolean {
  try {
    if (!fstatSync(1).isCharacterDevice()) return false
  } catch {}

  return Boolean(process.stdout.isTTY)
}
