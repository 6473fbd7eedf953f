import {open, readFile} from 'node:fs/promises'
import {hostname} from 'node:os'

import {ConfigError, isLoopbackHost, type AlertsConfig, type TlsMode} from '../config/schema.js'

/** Everything needed to talk to the mail server, the password included: kept in this process only. */
export interface SmtpSettings {
  host: string
  port: number
  tls: TlsMode
  user?: string
  password?: string
  /** PEM of a CA to trust for the server's certificate. */
  ca?: string
  timeoutMs: number
}

export interface OutgoingMail {
  from: string
  to: string[]
  subject: string
  text: string
  html: string
}

export interface SendReport {
  accepted: string[]
  /** Recipients the server refused while it took the others, each with its answer. */
  rejected: {address: string; response: string}[]
  /** The server's last answer (`250 OK ...`). */
  response: string
  messageId: string
}

export interface MailTransport {
  send(mail: OutgoingMail): Promise<SendReport>
  close(): void
}

/** The seam through which lnstore talks SMTP (nodemailer in production). */
export interface MailTransportFactory {
  create(settings: SmtpSettings): Promise<MailTransport>
}

const DEFAULT_PORTS: Record<TlsMode, number> = {implicit: 465, starttls: 587, none: 25}

/** True when the config says where to send alerts. */
export function alertsConfigured(alerts: AlertsConfig): boolean {
  return alerts.to.length > 0 && alerts.smtp.host !== undefined
}

export function senderAddress(alerts: AlertsConfig): string {
  return alerts.from ?? `lnstore@${hostname()}`
}

/** The server, port and TLS mode as an operator reads them: `mail.example.org:587 (STARTTLS)`. */
export function describeServer(settings: Pick<SmtpSettings, 'host' | 'port' | 'tls'>): string {
  return `${settings.host}:${settings.port} (${{implicit: 'TLS', starttls: 'STARTTLS', none: 'no TLS'}[settings.tls]})`
}

/** Reads the SMTP settings, the password from its file or environment variable. */
export async function resolveSmtp(alerts: AlertsConfig, env: NodeJS.ProcessEnv = process.env): Promise<SmtpSettings> {
  const {smtp} = alerts
  if (!smtp.host) throw new ConfigError('"alerts.smtp.host" is not set: lnstore has no mail server to hand alerts to', 'alerts.smtp.host')
  // Checked again here (not only in the config check): the one place every mail passes.
  if (smtp.tls === 'none' && smtp.user && !isLoopbackHost(smtp.host)) {
    throw new ConfigError(`"alerts.smtp.tls" is "none" with a login to ${smtp.host}: lnstore never sends a password in clear text to another machine`, 'alerts.smtp.tls')
  }

  const ca = smtp.caFile === undefined ? undefined : await readFile(smtp.caFile, 'utf8').catch((error: Error) => {
    throw new ConfigError(`cannot read "alerts.smtp.caFile" ${smtp.caFile}: ${error.message}`, 'alerts.smtp.caFile')
  })
  return {
    host: smtp.host,
    port: smtp.port ?? DEFAULT_PORTS[smtp.tls],
    tls: smtp.tls,
    ...(smtp.user === undefined ? {} : {user: smtp.user}),
    ...(ca === undefined ? {} : {ca}),
    password: await readPassword(alerts, env),
    timeoutMs: smtp.timeoutSeconds * 1000,
  }
}

async function readPassword({smtp}: AlertsConfig, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (smtp.passwordEnv) {
    const value = env[smtp.passwordEnv]
    if (!value) {
      throw new ConfigError(
        `"alerts.smtp.passwordEnv" names the environment variable ${smtp.passwordEnv}, but it is not set (or empty) where lnstore runs; for a systemd unit, set it in a drop-in with EnvironmentFile=`,
        'alerts.smtp.passwordEnv',
      )
    }

    return value
  }

  const path = smtp.passwordFile
  if (!path) return undefined
  // One open file for the check and the read, so the file cannot be swapped in between.
  const file = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`cannot read "alerts.smtp.passwordFile" ${path}: ${error.code === 'ENOENT' ? 'it does not exist' : error.message}`, 'alerts.smtp.passwordFile')
  })
  try {
    const stat = await file.stat()
    if (!stat.isFile()) throw new ConfigError(`"alerts.smtp.passwordFile" ${path} is not a regular file`, 'alerts.smtp.passwordFile')
    if (stat.mode & 0o004) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      throw new ConfigError(
        `"alerts.smtp.passwordFile" ${path} is readable by every user on this machine (mode ${mode}), so any local program could read the mail password; lnstore will not use it until only its owner (and group) can read it: chmod o-rwx ${path}`,
        'alerts.smtp.passwordFile',
      )
    }

    const password = (await file.readFile('utf8')).split(/\r?\n/)[0]
    if (!password) throw new ConfigError(`"alerts.smtp.passwordFile" ${path} is empty`, 'alerts.smtp.passwordFile')
    return password
  } finally {
    await file.close()
  }
}

/** nodemailer, loaded only when a mail is sent. */
export const nodemailerFactory: MailTransportFactory = {
  async create(settings) {
    const {createTransport} = await import('nodemailer')
    const transport = createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.tls === 'implicit',
      requireTLS: settings.tls === 'starttls',
      ignoreTLS: settings.tls === 'none',
      ...(settings.user === undefined || settings.password === undefined ? {} : {auth: {user: settings.user, pass: settings.password}}),
      ...(settings.ca === undefined ? {} : {tls: {ca: settings.ca}}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    })
    return {
      async send(mail) {
        const info = await transport.sendMail(mail)
        const refused = (info as {rejectedErrors?: {recipient?: string; response?: string}[]}).rejectedErrors ?? []
        return {
          accepted: info.accepted.map(String),
          rejected: info.rejected.map((address) => {
            const text = String(address)
            return {address: text, response: refused.find((error) => error.recipient === text)?.response ?? 'refused'}
          }),
          response: info.response,
          messageId: info.messageId,
        }
      },
      close() {
        transport.close()
      },
    }
  },
}

interface SmtpFailure {
  code?: string
  message?: string
  response?: string
  command?: string
}

/** A failure of the server or the connection (every other mail would fail too), not of one message. */
export function isServerFailure(error: unknown): boolean {
  const {code} = error as SmtpFailure
  return code !== 'EENVELOPE' && code !== 'EMESSAGE'
}

/** What went wrong talking to the mail server, in words an operator can act on. Never contains the password. */
export function describeSmtpError(error: unknown, settings: Pick<SmtpSettings, 'host' | 'port' | 'tls' | 'user' | 'timeoutMs'>): string {
  const {code, message = String(error), response} = error as SmtpFailure
  const server = describeServer(settings)
  const detail = (response ?? message).trim()
  if (/ECONNREFUSED/.test(message)) return `cannot connect to the mail server ${server}: connection refused (is it running, and is the port right?)`
  if (code === 'EDNS' || /ENOTFOUND|EAI_AGAIN/.test(message)) return `cannot find the mail server ${settings.host}: the name does not resolve`
  if (/certificate|self.signed/i.test(message)) {
    return `the mail server ${server} showed a TLS certificate lnstore does not trust (${detail}); if the server is yours, set "alerts.smtp.caFile" to its CA certificate`
  }

  if (/wrong version number|ssl3_get_record|unknown protocol|packet length too long/i.test(message)) {
    return `the TLS handshake with ${server} failed: the server does not speak TLS from the first byte; for a server that offers STARTTLS (usually port 587) set "alerts.smtp.tls: starttls"`
  }

  if (code === 'ETLS' || (code === 'EENVELOPE' && /STARTTLS/i.test(message))) {
    return `the mail server ${server} does not offer STARTTLS (${detail}), and lnstore does not send a password or alerts in clear text; use "alerts.smtp.tls: implicit" for port 465, or "none" only for a relay on this machine`
  }

  if (code === 'ETIMEDOUT') {
    const hint = settings.tls === 'starttls' ? '; a server that speaks TLS from the first byte (port 465) never greets in clear text: try "alerts.smtp.tls: implicit"' : ''
    return `the mail server ${server} did not answer within ${settings.timeoutMs / 1000} s (${detail})${hint}`
  }

  if (code === 'EAUTH') return `the mail server ${server} refused the login as ${settings.user ?? '(no user)'}: ${detail}; check "alerts.smtp.user" and the password`
  if (code === 'EENVELOPE' && /\b530\b|authentication required/i.test(detail)) {
    return `the mail server ${server} wants a login (${detail}); set "alerts.smtp.user" and "alerts.smtp.passwordFile" (or passwordEnv)`
  }

  if (code === 'EENVELOPE') return `the mail server ${server} refused the sender or the recipients (${detail}); check "alerts.from" and "alerts.to"`
  return `sending through ${server} failed: ${detail}`
}
