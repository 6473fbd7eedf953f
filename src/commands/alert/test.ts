import * as Flags from '@oclif/core/flags'

import {sendTestMail, type TestMailResult} from '../../alerts/test-mail.js'
import {BaseCommand} from '../../base-command.js'

export default class AlertTest extends BaseCommand {
  static summary = "Send a test mail through the configured SMTP server and report the server's answer."

  static description = 'Uses the alerts.smtp settings and alerts.to exactly as alerts do (the password from its file or environment variable). Exit 0 when the server accepted the message, 1 with the reason when it did not: connection refused, login refused, a TLS mismatch, refused recipients ...'

  static examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'Mail the configured recipients.'},
    {command: '<%= config.bin %> <%= command.id %> --to me@example.org', description: 'Mail someone else.'},
  ]

  static flags = {
    to: Flags.string({description: 'Send to this address instead of alerts.to (repeatable).', multiple: true}),
  }

  async run(): Promise<TestMailResult> {
    const {flags} = await this.parse(AlertTest)
    const {config, stateDir} = await this.loadConfig(flags)
    const result = await sendTestMail(this.deps, {config, stateDir, to: flags.to ?? []})
    this.log(`test mail accepted by ${result.server} for ${result.accepted.join(', ')}: ${result.response.trim()}`)
    for (const refused of result.rejected) this.log(`refused for ${refused.address}: ${refused.response}`)
    if (result.outbox > 0) this.log(`${result.outbox} alerts wait in the outbox; the next check (lnstore status) sends them`)
    return result
  }
}
