import {hostname} from 'node:os'

import type {AlertsConfig, Config} from '../config/schema.js'
import type {StatusResult, VdevView} from '../storage/view.js'
import type {Deps} from '../system/deps.js'
import {worst, type Finding} from '../storage/verdict.js'
import {Zpool, ZpoolError} from '../zfs/zpool.js'
import {composeAlertMail, loadMailTemplates, type ComposedMail} from './compose.js'
import {decideAlerts, HOST_SCOPE, type Alert, type DeviceObservation, type ScopeObservation} from './decide.js'
import {AlertStore, deliverOutbox, enqueue, type AlertOutcome} from './outbox.js'
import {alertsConfigured, describeSmtpError, resolveSmtp, senderAddress} from './smtp.js'

export interface AlertOptions {
  config: Config
  stateDir: string
  /** One line per event (queued, sent, failed): stderr for commands, stdout for the monitor. */
  log: (line: string) => void
  host?: string
  env?: NodeJS.ProcessEnv
}

export interface CheckOutcome {
  /** Null when the pools could not be read. */
  status: StatusResult | null
  error: Error | null
  alerts: AlertOutcome
}

/**
 * A health check that alerts: reads and judges the pools as `lnstore status` does, mails what
 * changed, and sends what waits in the outbox. A check that cannot read the pools (zpool missing,
 * a watched pool gone) alerts too, as UNKNOWN, and returns the error for the caller to report.
 */
export async function checkAndAlert(
  deps: Deps,
  options: AlertOptions & {pools: string[]; extraMails?: (status: StatusResult | null) => Promise<ComposedMail[]>; check: () => Promise<StatusResult>},
): Promise<CheckOutcome> {
  let status: StatusResult | null = null
  let error: Error | null = null
  try {
    // The caller's judgement: the backend's status, or a deeper one (a ChironFS scrub hashes every file).
    status = await options.check()
  } catch (caught) {
    if (caught instanceof TypeError || caught instanceof ReferenceError || caught instanceof RangeError || caught instanceof SyntaxError) throw caught
    error = caught as Error
  }

  const observations = status ? observe(status) : [failureObservation(error as Error)]
  const complete = status !== null && options.pools.length === 0 && options.config.pools.length === 0
  const extraMails = options.extraMails ? await options.extraMails(status) : []
  const alerts = await sendAlerts(deps, {...options, observations, complete, extraMails})
  return {status, error, alerts}
}

/** Decides which alerts the observations call for, queues them (and any extra mails), and sends the outbox. */
async function sendAlerts(
  deps: Deps,
  options: AlertOptions & {observations: ScopeObservation[]; complete: boolean; extraMails?: ComposedMail[]},
): Promise<AlertOutcome> {
  const outcome: AlertOutcome = {configured: alertsConfigured(options.config.alerts), queued: [], sent: 0, pending: 0, failures: []}
  if (!outcome.configured) return outcome
  const {config, log} = options
  const store = new AlertStore(options.stateDir)
  try {
    const now = deps.now()
    const decide = (scopes: Parameters<typeof decideAlerts>[0]) =>
      decideAlerts(scopes, options.observations, {now, repeatMs: config.alerts.repeatHours * 3_600_000, complete: options.complete})
    // The excerpts need zpool, which cannot run under the state file's lock: fetch them for the alerts a first look foresees.
    const foreseen = decide((await store.read().catch(() => ({scopes: {}}))).scopes)
    const [excerpts, templates] = await Promise.all([statusExcerpts(deps, foreseen.alerts), loadMailTemplates()])
    const context = {host: options.host ?? hostname(), now, repeatHours: config.alerts.repeatHours}
    const compose = (decision: ReturnType<typeof decide>) => [
      ...decision.alerts.map((alert) => composeAlertMail(alert, {...context, excerpt: excerpts.get(alert.scope) ?? ''}, templates)),
      ...(options.extraMails ?? []),
    ]
    try {
      await store.update((state) => {
        const decision = decide(state.scopes)
        const mails = compose(decision)
        const queued = enqueue({...state, scopes: decision.scopes}, mails, now)
        outcome.queued = mails.map((mail) => mail.subject)
        if (queued.dropped > 0) log(`alerts: the outbox is full; dropped its ${queued.dropped} oldest mails`)
        return queued.state
      }, log)
    } catch (error) {
      // No state, no outbox: the alert must still go out, now, and the broken state directory be said loudly.
      const mails = compose(foreseen)
      const reason = `alerts: CANNOT WRITE the alert state in ${options.stateDir} (${(error as Error).message}); ${mails.length} mails sent directly instead of through the outbox, so a failed send is not retried and the next run may mail the same again: make the state directory writable (or set stateDir / LNSTORE_STATE_DIR)`
      log(reason)
      const direct = await sendDirectly(deps, config.alerts, mails, log, options.env)
      return {...outcome, queued: mails.map((mail) => mail.subject), sent: direct.sent, pending: 0, failures: [reason, ...direct.failures]}
    }

    for (const subject of outcome.queued) log(`alert queued: ${subject}`)
    return {...outcome, ...(await deliverOutbox(deps, store, config.alerts, log, options.env))}
  } catch (error) {
    // Alerts must never break the check itself (an unwritable state directory, a bad CA file ...): say why and go on.
    const reason = `alerts: ${(error as Error).message}`
    log(reason)
    return {...outcome, failures: [...outcome.failures, reason]}
  }
}

/** Sends mails straight to the server, without the outbox (whose state cannot be written). */
async function sendDirectly(deps: Deps, alerts: AlertsConfig, mails: ComposedMail[], log: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<{sent: number; failures: string[]}> {
  const result = {sent: 0, failures: [] as string[]}
  if (mails.length === 0) return result
  const settings = await resolveSmtp(alerts, env)
  const transport = await deps.mail.create(settings)
  try {
    for (const mail of mails) {
      try {
        const report = await transport.send({from: senderAddress(alerts), to: alerts.to, subject: mail.subject, text: mail.text, html: mail.html})
        result.sent++
        log(`mail sent: "${mail.subject}" to ${report.accepted.join(', ')} (${report.response.trim()})`)
      } catch (error) {
        const reason = `mail not sent (and not kept: no outbox): "${mail.subject}": ${describeSmtpError(error, settings)}`
        result.failures.push(reason)
        log(reason)
      }
    }
  } finally {
    transport.close()
  }

  return result
}

/** What a status result shows, per pool and for the host, as the alert rules see it. */
export function observe(status: StatusResult): ScopeObservation[] {
  const notOk = (findings: Finding[]) => findings.filter((finding) => finding.verdict !== 'OK')
  const host: ScopeObservation = {scope: HOST_SCOPE, verdict: worst(status.findings.map((finding) => finding.verdict)), findings: notOk(status.findings), devices: []}
  const pools = status.pools.map((pool) => ({scope: pool.name, label: pool.label, verdict: pool.verdict, findings: notOk(pool.findings), devices: leaves(pool.vdevs)}))
  return [host, ...pools]
}

function leaves(vdevs: VdevView[]): DeviceObservation[] {
  return vdevs.flatMap((vdev) => {
    if (vdev.children.length > 0) return leaves(vdev.children)
    if (!vdev.verdict) return []
    const {name, verdict, read, write, cksum} = vdev
    return [{key: vdev.guid ?? name, name, verdict, findings: vdev.findings ?? [], read, write, cksum, rates: vdev.rates ?? null}]
  })
}

function failureObservation(error: Error): ScopeObservation {
  const next = error instanceof ZpoolError ? error.nextStep : 'lnstore status'
  return {scope: HOST_SCOPE, verdict: 'UNKNOWN', findings: [{verdict: 'UNKNOWN', message: `cannot read the pools: ${error.message}`, next}], devices: []}
}

async function statusExcerpts(deps: Deps, alerts: Alert[]): Promise<Map<string, string>> {
  const zpool = new Zpool(deps.runner)
  const pools = [...new Set(alerts.map((alert) => alert.scope))].filter((scope) => scope !== HOST_SCOPE)
  // A pool that cannot be read any more has no excerpt; the mail says what is known.
  return new Map(await Promise.all(pools.map(async (pool) => [pool, await zpool.statusText(pool).catch(() => '')] as const)))
}
