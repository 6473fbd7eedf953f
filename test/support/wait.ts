import {createRequire} from 'node:module'

/**
 * Waiting in tests: for a condition, never for a fixed time, so that a test passes on a busy 2-core
 * machine as on an idle one. The deadline is generous (far beyond what an idle machine needs) and
 * mocha's timeout is several of them (both in deadlines.cjs), so that a test that fails says what it
 * waited for and what it last saw instead of "Timeout of N ms exceeded". LNSTORE_TEST_WAIT_SECONDS
 * raises both where everything is slower (the VM tier: software emulation).
 */
export const {WAIT_DEADLINE_MS} = createRequire(import.meta.url)('./deadlines.cjs') as {WAIT_DEADLINE_MS: number}
const POLL_MS = 50

export interface WaitOptions {
  /** Give up after this long (default 90 s, or LNSTORE_TEST_WAIT_SECONDS). */
  deadlineMs?: number
  /** How often to look (default 50 ms). */
  pollMs?: number
  /** What the failure message shows of the world when the deadline passes; default: the probe's last answer. */
  seen?: () => string
}

/** A failed wait: names what was awaited, how long, and what was last seen. */
export class WaitTimeout extends Error {
  constructor(what: string, deadlineMs: number, seen: string) {
    super(`waited ${deadlineMs / 1000} s for ${what}; last seen: ${seen}`)
    this.name = 'WaitTimeout'
  }
}

const pending = (value: unknown) => value === undefined || value === null || value === false

/** Polls `probe` until it answers something other than undefined, null or false, and returns that answer. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  return (await waitUntil(what, probe, (answer) => !pending(answer), options)) as Exclude<T, undefined | null | false>
}

/** Looks with `look` until `ready` accepts what it saw, and returns that; a timeout shows the last look as JSON. */
export async function waitUntil<T>(what: string, look: () => T | Promise<T>, ready: (seen: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const deadlineMs = options.deadlineMs ?? WAIT_DEADLINE_MS
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const seen = await look()
    if (ready(seen)) return seen
    if (Date.now() >= deadline) throw new WaitTimeout(what, deadlineMs, options.seen ? options.seen() : String(JSON.stringify(seen)))
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? POLL_MS))
  }
}

/** The same for synchronous code (test set-up and clean-up helpers): pauses without spawning `sleep`. */
export function waitForSync<T>(what: string, probe: () => T, options: WaitOptions = {}): Exclude<T, undefined | null | false> {
  const deadlineMs = options.deadlineMs ?? WAIT_DEADLINE_MS
  const deadline = Date.now() + deadlineMs
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    const answer = probe()
    if (!pending(answer)) return answer as Exclude<T, undefined | null | false>
    if (Date.now() >= deadline) throw new WaitTimeout(what, deadlineMs, options.seen ? options.seen() : String(answer))
    Atomics.wait(pause, 0, 0, options.pollMs ?? POLL_MS)
  }
}
