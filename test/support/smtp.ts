/**
 * A real SMTP server on loopback for the alert tests (the `smtp-server` package, by nodemailer's
 * authors): STARTTLS or TLS from the first byte with the fixture certificate (valid for localhost
 * and 127.0.0.1 until 2126, made with `openssl req -x509 -newkey rsa:2048 -nodes -days 36500
 * -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`), AUTH PLAIN/LOGIN against
 * one user, recipients starting with `bad` refused. Receiving and decoding are the demo's inbox.
 */
import {chmodSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Inbox, type ReceivedMail} from '../../src/demo/inbox.js'
import {waitFor} from './wait.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/smtp/', import.meta.url))
export const CA_FILE = join(FIXTURES, 'cert.pem')
export const SMTP_USER = 'lnstore'
export const SMTP_PASSWORD = 'correct horse battery staple'

export type {ReceivedMail}

/** The inbox with the fixture certificate, one user, and recipients starting with `bad` refused. */
export class TestSmtpServer extends Inbox {
  /** Every login the server received, and whether it came over TLS. */
  readonly logins: {user: string; overTls: boolean}[]

  /** `allowInsecureAuth`: take logins without TLS, as a careless relay would (smtp-server refuses them by default). */
  constructor(options: {secure?: boolean; allowInsecureAuth?: boolean} = {}) {
    const logins: {user: string; overTls: boolean}[] = []
    super({
      secure: options.secure ?? false,
      allowInsecureAuth: options.allowInsecureAuth ?? false,
      key: readFileSync(join(FIXTURES, 'key.pem')),
      cert: readFileSync(CA_FILE),
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, session, callback) {
        logins.push({user: auth.username ?? '', overTls: session.secure})
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, {user: auth.username})
        else callback(new Error('Invalid username or password'))
      },
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('bad')) callback(Object.assign(new Error('No such user here'), {responseCode: 550}))
        else callback()
      },
    })
    this.logins = logins
  }

  /** Resolves once `count` messages have arrived in all; fails after the wait deadline listing what did arrive. */
  override async waitFor(count: number): Promise<ReceivedMail[]> {
    return waitFor(`${count} mail(s) at the test SMTP server`, () => this.messages.length >= count && this.messages, {
      seen: () => `${this.messages.length} mail(s): ${this.messages.map((mail) => JSON.stringify(mail.subject)).join(', ') || 'none'}`,
    })
  }
}

/** Writes an lnstore config that mails through this server, with the password in a 0600 file. */
export function alertConfig(dir: string, port: number, extra: {alerts?: object; smtp?: object; [key: string]: unknown} = {}): string {
  const passwordFile = join(dir, 'smtp-password')
  writeFileSync(passwordFile, `${SMTP_PASSWORD}\n`)
  chmodSync(passwordFile, 0o600)
  const {alerts, smtp, ...rest} = extra
  const config = {
    ...rest,
    alerts: {
      to: ['ops@example.org', 'node-owner@example.org'],
      from: 'lnstore@node.example.org',
      smtp: {host: '127.0.0.1', port, tls: 'starttls', user: SMTP_USER, passwordFile, caFile: CA_FILE, timeoutSeconds: 5, ...smtp},
      ...alerts,
    },
  }
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(config))
  return file
}
