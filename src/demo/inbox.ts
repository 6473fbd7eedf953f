/**
 * A real SMTP server on loopback that keeps what it receives (the `smtp-server` package, by
 * nodemailer's authors): the inbox `lnstore demo` mails its alert to, and the base of the tests'
 * server. Every accepted message is kept, decoded enough to print and to assert on.
 */
import type {AddressInfo} from 'node:net'
import type {SMTPServer, SMTPServerOptions} from 'smtp-server'

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

export class Inbox {
  readonly messages: ReceivedMail[] = []
  private server: SMTPServer | null = null
  private waiters: (() => void)[] = []

  /** `options`: TLS, authentication and recipient checks of the server; receiving is the inbox's. */
  constructor(private readonly options: SMTPServerOptions = {}) {}

  /** Starts listening on 127.0.0.1; on `port` when given (a restart after `stop()` keeps the port). */
  async start(port = 0): Promise<number> {
    const {SMTPServer} = await import('smtp-server')
    const server = new SMTPServer({
      logger: false,
      ...this.options,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('end', () => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
          this.messages.push({...decodeMail(Buffer.concat(chunks).toString('utf8')), from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), receivedAt: Date.now()})
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

/** Headers, the RFC 2047 subject, and the text and HTML parts (quoted-printable or base64) of a MIME message. */
export function decodeMail(raw: string): Pick<ReceivedMail, 'subject' | 'text' | 'html'> {
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
