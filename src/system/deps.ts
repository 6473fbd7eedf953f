import {readFileSync} from 'node:fs'
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
  // /proc's files (the mount table every status and start gate reads) are made by the kernel in
  // memory and never wait on storage: one synchronous read spares node:fs/promises' load (a dozen
  // modules), a file handle and the start of libuv's thread pool. Other files may sit on storage that
  // hangs (a FUSE or NFS mount): those stay off the event loop. (The import of node:fs/promises above
  // costs nothing until then: the bundle status and preflight run from loads it on first use,
  // LAZY_BUILTINS in scripts/build-fast-entry.js.)
  readFile: (path) => (path.startsWith('/proc/') ? new Promise((resolve) => resolve(readFileSync(path, 'utf8'))) : readFile(path, 'utf8')),
  now: () => Date.now(),
  mail: nodemailerFactory,
}
