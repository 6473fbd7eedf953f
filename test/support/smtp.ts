/**
 * A real SMTP server on loopback for the alert tests (the `smtp-server` package, by nodemailer's
 * authors): STARTTLS or TLS from the first byte with the fixture certificate (valid for localhost
 * and 127.0.0.1 until 2126, made with `openssl req -x509 -newkey rsa:2048 -nodes -days 36500
 * -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`), AUTH PLAIN/LOGIN against
 * one user, recipients starting with `bad` refused. Every accepted message is kept, decoded enough
 * to assert on.
 */
import {chmodSync, readFileSync, writeFileSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {SMTPServer} from 'smtp-server'

const FIXTURES = fileURLToPath(new URL('../fixtures/smtp/', import.meta.url))
export const CA_FILE = join(FIXTURES, 'cert.pem')
export const SMTP_USER = 'lnstore'
export const SMTP_PASSWORD = 'correct horse battery staple'

export interface ReceivedMail {
  from: string
  to: string[]
  subject: string
  /** The text/plain part, decoded. */
  text: string
  /** The text/html part, decoded. */
  html: string
  receivedAt: number
}

export class TestSmtpServer {
  readonly messages: ReceivedMail[] = []
  private server: SMTPServer | null = null
  private waiters: (() => void)[] = []

  constructor(private readonly options: {secure?: boolean} = {}) {}

  /** Starts listening; on `port` when given (a restart after `stop()` keeps the port). */
  async start(port = 0): Promise<number> {
    const server = new SMTPServer({
      secure: this.options.secure ?? false,
      key: readFileSync(join(FIXTURES, 'key.pem')),
      cert: readFileSync(CA_FILE),
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, {user: auth.username})
        else callback(new Error('Invalid username or password'))
      },
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('bad')) callback(Object.assign(new Error('No such user here'), {responseCode: 550}))
        else callback()
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
          this.messages.push({...decode(Buffer.concat(chunks).toString('utf8')), from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), receivedAt: Date.now()})
          for (const wake of this.waiters.splice(0)) wake()
          callback()
        })
      },
    })
    server.on('error', () => {})
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    this.server = server
    return (server.server.address() as AddressInfo).port
  }

  async stop(): Promise<void> {
    const {server} = this
    this.server = null
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Resolves once `count` messages have arrived in all. */
  async waitFor(count: number): Promise<ReceivedMail[]> {
    while (this.messages.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve))
    return this.messages
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

/** Headers, the RFC 2047 subject, and the text and HTML parts (quoted-printable or base64) of a MIME message. */
function decode(raw: string): Pick<ReceivedMail, 'subject' | 'text' | 'html'> {
  const {headers, body} = split(raw)
  const subject = (headers.subject ?? '').replaceAll(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replaceAll('_', ' ')),
  )
  const boundary = /boundary="?([^";]+)"?/.exec(headers['content-type'] ?? '')?.[1]
  const parts = boundary ? body.split(`--${boundary}`).slice(1, -1).map(split) : [{headers, body}]
  const part = (type: string) => {
    const found = parts.find((candidate) => (candidate.headers['content-type'] ?? '').startsWith(type))
    if (!found) return ''
    const encoding = (found.headers['content-transfer-encoding'] ?? '').toLowerCase()
    if (encoding === 'base64') return Buffer.from(found.body, 'base64').toString('utf8')
    if (encoding === 'quoted-printable') return decodeQuotedPrintable(found.body)
    return found.body
  }

  return {subject, text: part('text/plain'), html: part('text/html')}
}

function split(raw: string): {headers: Record<string, string>; body: string} {
  const text = raw.replace(/^\r?\n/, '')
  const end = text.search(/\r?\n\r?\n/)
  const headers: Record<string, string> = {}
  for (const line of text.slice(0, end).replaceAll(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }

  return {headers, body: text.slice(end).replace(/^\r?\n\r?\n/, '').replaceAll('\r\n', '\n')}
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replaceAll(/=\r?\n/g, '').replaceAll(/=([0-9A-F]{2})/gi, (_, hex: string) => `%${hex}`)
  return decodeURIComponent(bytes.replaceAll(/%(?![0-9A-F]{2})/gi, '%25'))
}
