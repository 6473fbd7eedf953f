import {readFile} from 'node:fs/promises'

import {nodemailerFactory, type MailTransportFactory} from '../alerts/smtp.js'
import {processRunner, type Runner} from './runner.js'

/** The side effects lnstore's modules use, one small interface each, so tests can point them elsewhere. */
export interface Deps {
  runner: Runner
  readFile(path: string): Promise<string>
  /** Epoch milliseconds. */
  now(): number
  /** Connections to the mail server (alerts). */
  mail: MailTransportFactory
}

export const systemDeps: Deps = {
  runner: processRunner,
  readFile: (path) => readFile(path, 'utf8'),
  now: () => Date.now(),
  mail: nodemailerFactory,
}
