import {hostname} from 'node:os'

import {composePreflightMail, loadMailTemplates} from '../alerts/compose.js'
import {mailWhenConfigured} from '../alerts/outbox.js'
import {alertsConfigured} from '../alerts/smtp.js'
import type {Config} from '../config/schema.js'
import type {Deps} from '../system/deps.js'
import type {PreflightResult} from './preflight.js'

/**
 * Mails the refusal, when alerts are configured: a node that does not come up after a reboot is
 * easy to miss. The mail goes through the outbox, so a mail server that is down delays it, not loses it.
 */
export async function alertRefusal(deps: Deps, config: Config, stateDir: string, result: PreflightResult, log: (line: string) => void): Promise<void> {
  if (!alertsConfigured(config.alerts)) return
  const mail = composePreflightMail(result.findings, result.verdict, {host: hostname(), now: deps.now(), dataDir: config.dataDir ?? ''}, await loadMailTemplates())
  await mailWhenConfigured(deps, config.alerts, stateDir, mail, log)
}
