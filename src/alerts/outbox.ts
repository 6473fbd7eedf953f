import {randomBytes} from 'node:crypto'
import {rename} from 'node:fs/promises'
import {join} from 'node:path'

import type {AlertsConfig} from '../config/schema.js'
import {CorruptStateError, lock, LockHeldError, readJsonFile, updateJsonFile} from '../state/json-file.js'
import type {Deps} from '../system/deps.js'
import type {ComposedMail} from './compose.js'
import type {ScopeState} from './decide.js'
import {alertsConfigured, describeSmtpError, isServerFailure, resolveSmtp, senderAddress} from './smtp.js'


/** What a check's alerting did: mails queued and sent, what waits, what failed. */
export interface AlertOutcome {
  /** False when the config names no recipients or no mail server: nothing is decided or sent. */
  configured: boolean
  /** Subjects of the mails this run queued. */
  queued: string[]
  sent: number
  /** Mails left in the outbox for the next run. */
  pending: number
  failures: string[]
}

/**
 * The alert state file (alerts.json in the state directory): the last verdicts per pool and device,
 * and the outbox of mails not yet accepted by the mail server. Both change together under the
 * file's lock and are replaced atomically, so a crash never loses a queued alert nor sends one
 * twice because its decision was lost. A mail leaves the outbox only once the server took it.
 */

export interface QueuedMail extends ComposedMail {
  id: string
  queuedAt: number
  attempts: number
  lastError?: string
}

export interface AlertState {
  version: 1
  scopes: Record<string, ScopeState>
  outbox: QueuedMail[]
}

const EMPTY_ALERT_STATE: AlertState = {version: 1, scopes: {}, outbox: []}

/** An outbox that grows past this (months of a dead mail server) drops its oldest mails. */
const MAX_OUTBOX = 200

/** How long a run waits for another one that is sending the outbox. */
const DELIVERY_WAIT_MS = 120_000

export interface DeliveryOutcome {
  sent: number
  /** Mails still in the outbox. */
  pending: number
  failures: string[]
}

export class AlertStore {
  readonly path: string

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, 'alerts.json')
  }

  async read(): Promise<AlertState> {
    return readJsonFile(this.path, EMPTY_ALERT_STATE)
  }

  /** Read-modify-write under the lock; a damaged file is moved aside (and said) and the state starts afresh. */
  async update(change: (state: AlertState) => AlertState, log: (line: string) => void): Promise<AlertState> {
    try {
      return await updateJsonFile(this.path, EMPTY_ALERT_STATE, change)
    } catch (error) {
      if (!(error instanceof CorruptStateError)) throw error
      const aside = `${this.path}.corrupt-${Date.now()}`
      await rename(this.path, aside)
      log(`alerts: ${error.message}; moved to ${aside}, alert state starts afresh (mails queued in it are lost)`)
      return updateJsonFile(this.path, EMPTY_ALERT_STATE, change)
    }
  }
}

/** Adds mails to the outbox; the oldest go when it is full. */
export function enqueue(state: AlertState, mails: ComposedMail[], now: number): {state: AlertState; dropped: number} {
  const outbox = [...state.outbox, ...mails.map((mail) => ({...mail, id: `${now}-${randomBytes(4).toString('hex')}`, queuedAt: now, attempts: 0}))]
  const dropped = Math.max(0, outbox.length - MAX_OUTBOX)
  return {state: {...state, outbox: outbox.slice(dropped)}, dropped}
}

/**
 * Sends what is in the outbox, oldest first. One run sends at a time (a lock); a run that finds
 * another sending waits for it, then sends what is left. A failure of the server (down, login
 * refused, TLS) stops the run: the mails stay for the next one.
 */
export async function deliverOutbox(deps: Deps, store: AlertStore, alerts: AlertsConfig, log: (line: string) => void, env?: NodeJS.ProcessEnv): Promise<DeliveryOutcome> {
  const outcome: DeliveryOutcome = {sent: 0, pending: 0, failures: []}
  let release: () => Promise<void>
  try {
    release = await lock(join(store.stateDir, 'alerts.delivery.lock'), DELIVERY_WAIT_MS)
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error
    outcome.pending = (await store.read()).outbox.length
    log(`alerts: another lnstore (pid ${error.holder ?? 'unknown'}) has been sending for ${DELIVERY_WAIT_MS / 1000} s; ${outcome.pending} mails wait in the outbox for the next run`)
    return outcome
  }

  try {
    const {outbox} = await store.read()
    if (outbox.length === 0) return outcome
    let settings
    try {
      settings = await resolveSmtp(alerts, env)
    } catch (error) {
      outcome.failures.push((error as Error).message)
      outcome.pending = outbox.length
      log(`alerts: not sent, ${outbox.length} mails kept in the outbox: ${(error as Error).message}`)
      return outcome
    }

    const transport = await deps.mail.create(settings)
    try {
      for (const mail of outbox) {
        try {
          const report = await transport.send({from: senderAddress(alerts), to: alerts.to, subject: mail.subject, text: mail.text, html: mail.html})
          await store.update((state) => ({...state, outbox: state.outbox.filter((queued) => queued.id !== mail.id)}), log)
          outcome.sent++
          log(`mail sent: "${mail.subject}" to ${report.accepted.join(', ')} (${report.response.trim()})`)
          for (const refused of report.rejected) log(`mail refused for ${refused.address}: ${refused.response}`)
        } catch (error) {
          const reason = describeSmtpError(error, settings)
          outcome.failures.push(reason)
          await store.update(
            (state) => ({...state, outbox: state.outbox.map((queued) => (queued.id === mail.id ? {...queued, attempts: queued.attempts + 1, lastError: reason} : queued))}),
            log,
          )
          log(`mail not sent, kept in the outbox for the next run: "${mail.subject}": ${reason}`)
          if (isServerFailure(error)) break
        }
      }
    } finally {
      transport.close()
    }

    outcome.pending = (await store.read()).outbox.length
    if (outcome.failures.length > 0 && outcome.pending > 0) log(`alerts: ${outcome.pending} mails wait in the outbox`)
    return outcome
  } finally {
    await release()
  }
}

/** Queues one mail and sends the outbox, when alerts are configured: a server that is down delays the mail, never loses it. */
export async function mailWhenConfigured(deps: Deps, alerts: AlertsConfig, stateDir: string, mail: ComposedMail, log: (line: string) => void): Promise<void> {
  if (!alertsConfigured(alerts)) return
  const store = new AlertStore(stateDir)
  await store.update((state) => enqueue(state, [mail], deps.now()).state, log)
  await deliverOutbox(deps, store, alerts, log)
}
