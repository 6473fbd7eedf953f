import {readFile} from 'node:fs/promises'

import {zxRunner, type Runner} from './runner.js'

/** The side effects lnstore's modules use, one small interface each, so tests can point them elsewhere. */
export interface Deps {
  runner: Runner
  readFile(path: string): Promise<string>
  /** Epoch milliseconds. */
  now(): number
}

export const systemDeps: Deps = {
  runner: zxRunner,
  readFile: (path) => readFile(path, 'utf8'),
  now: () => Date.now(),
}
