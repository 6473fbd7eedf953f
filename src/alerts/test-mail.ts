import {hostname} from 'node:os'

import {ConfigError, type Config} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import {composeTestMail, loadMailTemplates} from './compose.js'
import {AlertStore} from './outbox.js'
import {describeServer, describeSmtpError, resolveSmtp, senderAddress, type SendReport} from './smtp.js'

export interface TestMailResult extends SendReport {
  server: string
  from: string
  to: string[]
  subject: string
  /** Alerts waiting in the outbox (they go out with the next check). */
  outbox: number
}

/** `lnstore alert test`: sends one message straight to the server (not through the outbox) and reports its answer. */
export async function sendTestMail(deps: Deps, options: {config: Config; stateDir: string; to: string[]; env?: NodeJS.ProcessEnv}): Promise<TestMailResult> {
  const {alerts} = options.config
  const to = options.to.length > 0 ? options.to : alerts.to
  if (to.length === 0) throw new ConfigError('no recipients: set "alerts.to" in the config (or name one with --to)', 'alerts.to')
  const settings = await resolveSmtp(alerts, options.env)
  const server = describeServer(settings)
  const mail = composeTestMail({host: hostname(), now: deps.now(), smtp: server}, await loadMailTemplates())
  const from = senderAddress(alerts)
  const transport = await deps.mail.create(settings)
  try {
    const report = await transport.send({from, to, ...mail})
    const outbox = await new AlertStore(options.stateDir).read().then((state) => state.outbox.length, () => 0)
    return {...report, server, from, to, subject: mail.subject, outbox}
  } catch (error) {
    throw new Error(`the test mail was not sent: ${describeSmtpError(error, settings)}`)
  } finally {
    transport.close()
  }
}
