import type {DeviceCounterChange, ScrubRun} from '../state/history.js'
import {escapeHtml, loadTemplate, renderTemplate} from '../system/templates.js'
import type {Finding, Verdict} from '../storage/verdict.js'
import {formatBytes, formatDuration} from '../storage/units.js'
import {scopeLabel, type Alert, type DeviceObservation} from './decide.js'

/** A mail as lnstore queues it: the recipients come from the config when it is sent. */
export interface ComposedMail {
  subject: string
  text: string
  html: string
}

/** templates/mail/message.txt and .html: one layout for every kind of mail. */
export interface MailTemplates {
  text: string
  html: string
}

export async function loadMailTemplates(): Promise<MailTemplates> {
  const [text, html] = await Promise.all([loadTemplate('mail/message.txt'), loadTemplate('mail/message.html')])
  return {text, html}
}

/** What the templates fill in; a section that is null is left out. */
interface MailView {
  subject: string
  heading: string
  color: string
  host: string
  time: string
  summary: string
  pool: string | null
  nextList: {items: string[]} | null
  changeList: {items: {subject: string; from: string; to: string}[]} | null
  findingList: {items: {verdict: Verdict; label: string; message: string}[]} | null
  deviceList: {windowDays: number; rows: string[]; items: Record<string, string | number>[]} | null
  scrub: {pool: string; started: string; ended: string; duration: string; repaired: string; errors: string; scrubDevices: {rows: string[]} | null} | null
  smtp: string | null
  excerpt: string | null
  footer: string
}

const COLORS: Record<Verdict, string> = {OK: '#1a7f37', WARNING: '#9a6700', CRITICAL: '#cf222e', UNKNOWN: '#8250df'}

const MEANING: Record<Verdict, string> = {
  OK: 'Everything lnstore checks is fine.',
  WARNING: 'Nothing is lost, but redundancy or early warning is weaker than it should be: look into it soon.',
  CRITICAL: 'The node data is at risk: act now.',
  UNKNOWN: 'lnstore cannot tell whether the node data is safe.',
}

const RANK: Record<Verdict, number> = {CRITICAL: 0, UNKNOWN: 1, WARNING: 2, OK: 3}

export interface AlertMailContext {
  host: string
  now: number
  repeatHours: number
  /** `zpool status -v` of the pool, as printed; empty when not available. */
  excerpt: string
}

export function composeAlertMail(alert: Alert, context: AlertMailContext, templates: MailTemplates): ComposedMail {
  const where = `${scopeLabel(alert.scope, alert.observation.label)} on ${context.host}`
  const {observation} = alert
  const findings: Finding[] = [
    ...observation.findings,
    ...observation.devices.flatMap((device) => device.findings.map((finding) => ({...finding, message: `${device.name}: ${finding.message}`}))),
  ]
    .filter((finding) => finding.verdict !== 'OK')
    .sort((a, b) => RANK[a.verdict] - RANK[b.verdict])
  const headline = findings[0] ? `: ${shorten(findings[0].message, 160)}` : ''
  const previous = alert.previous ?? 'OK'
  const {subject, summary} = {
    problem: {subject: `${alert.verdict}: ${where}${headline}`, summary: `lnstore judges ${where} ${alert.verdict}. ${MEANING[alert.verdict]}`},
    changed: {
      subject: `${alert.verdict} (was ${previous}): ${where}${headline}`,
      summary: `${where} went from ${previous} to ${alert.verdict}. ${MEANING[alert.verdict]}`,
    },
    repeat: {
      subject: `still ${alert.verdict}: ${where}${headline}`,
      summary: `${where} has been ${alert.verdict} since ${formatTime(alert.since)} and still is. ${MEANING[alert.verdict]} This mail comes again every ${context.repeatHours} h while the problem lasts.`,
    },
    recovered: {subject: `RECOVERED: ${where} is OK again`, summary: `${where} is OK again (it was ${previous}). ${MEANING.OK}`},
  }[alert.kind]
  const changed = new Set(alert.changes.map((change) => change.subject))
  const devices = observation.devices.filter((device) => device.verdict !== 'OK' || changed.has(device.name) || counted(device) > 0)
  return render(
    {
      ...baseView(`[lnstore] ${subject}`, alert.kind === 'recovered' ? 'OK' : alert.verdict, context),
      heading: `${alert.kind === 'recovered' ? 'RECOVERED' : alert.verdict}: ${where}`,
      summary,
      pool: alert.scope,
      nextList: nullIfEmpty({items: [...new Set(findings.flatMap((finding) => (finding.next ? [finding.next] : [])))]}),
      changeList: nullIfEmpty({
        items: alert.changes.map((change) => ({subject: change.subject, from: change.from ?? 'first seen', to: change.to ?? 'no longer there'})),
      }),
      findingList: nullIfEmpty({items: findings.map(({verdict, message}) => ({verdict, label: verdict.padEnd(8), message}))}),
      deviceList: deviceTable(devices),
      excerpt: context.excerpt.trimEnd() || null,
      footer: `lnstore mails on every change of verdict, and at most every ${context.repeatHours} h while a problem lasts. \`lnstore status\` shows the whole picture.`,
    },
    templates,
  )
}

export interface ScrubMailContext {
  host: string
  now: number
  /** The pool's verdict after the scrub. */
  verdict: Verdict
  excerpt: string
}

export function composeScrubMail(run: ScrubRun, context: ScrubMailContext, templates: MailTemplates): ComposedMail {
  const repaired = formatBytes(run.repairedBytes ?? 0)
  const errors = run.errors ?? 0
  const summary =
    errors > 0
      ? `The scrub found ${errors} errors it could not repair: some data is damaged and redundancy could not fix it.`
      : run.repairedBytes
        ? `The scrub repaired ${repaired} from redundant copies: a device returned bad data. ZFS fixed it; watch whether that device keeps erring.`
        : 'The scrub read every copy of every block and found nothing wrong.'
  return render(
    {
      ...baseView(`[lnstore] ${context.verdict}: scrub of pool ${run.pool} on ${context.host}: repaired ${repaired}, ${errors} errors`, context.verdict, context),
      heading: `Scrub of pool ${run.pool} on ${context.host}: ${context.verdict}`,
      summary: `${summary} The pool is ${context.verdict} now.`,
      pool: run.pool,
      scrub: {
        pool: run.pool,
        started: formatTime(run.startedAt),
        ended: formatTime(run.endedAt),
        duration: formatDuration(run.durationSeconds),
        repaired,
        errors: String(errors),
        scrubDevices: nullIfEmpty({rows: counterRows(run.devices)}),
      },
      excerpt: context.excerpt.trimEnd() || null,
      footer: 'The scrub summary mail is set by alerts.scrubSummary (off, on-problems, always).',
    },
    templates,
  )
}

export function composeTestMail(context: {host: string; now: number; smtp: string}, templates: MailTemplates): ComposedMail {
  return render(
    {
      ...baseView(`[lnstore] TEST: mail from lnstore on ${context.host}`, 'OK', context),
      heading: `Test message from lnstore on ${context.host}`,
      summary: 'This message comes from `lnstore alert test`. If you read it, lnstore\'s alerts reach you.',
      smtp: context.smtp,
      footer: 'Alerts come on every change of verdict of a pool or device.',
    },
    templates,
  )
}

/** The mail `lnstore preflight` sends when it keeps the node from starting. */
export function composePreflightMail(findings: Finding[], verdict: Verdict, context: {host: string; now: number; dataDir: string}, templates: MailTemplates): ComposedMail {
  const reasons = findings.filter((finding) => finding.verdict !== 'OK').sort((a, b) => RANK[a.verdict] - RANK[b.verdict])
  return render(
    {
      ...baseView(`[lnstore] ${verdict}: preflight kept the Lightning node on ${context.host} from starting${reasons[0] ? `: ${shorten(reasons[0].message, 160)}` : ''}`, verdict, context),
      heading: `The Lightning node on ${context.host} was not started`,
      summary: `lnstore preflight refused to start the node on ${context.dataDir}: starting on data that may be older than what the node last wrote can broadcast a revoked channel state and lose the channel.`,
      nextList: nullIfEmpty({items: [...new Set(reasons.flatMap((finding) => (finding.next ? [finding.next] : [])))]}),
      findingList: nullIfEmpty({items: reasons.map(({verdict: level, message}) => ({verdict: level, label: level.padEnd(8), message}))}),
      footer: '`lnstore preflight` shows the same; the node starts once it exits 0.',
    },
    templates,
  )
}

/** The report `lnstore replace-disk` mails when it is done. */
export function composeReplaceMail(
  report: {pool: string; failing: string; newDevice: string; downtimeSeconds: number | null; dataVersion: number | null; oldDeviceWarning?: string; selfTest?: {result: string; detail: string} | null},
  context: {host: string; now: number},
  templates: MailTemplates,
): ComposedMail {
  const down = report.downtimeSeconds === null ? 'the node was not running' : `the node was down for ${formatDuration(report.downtimeSeconds)}`
  return render(
    {
      ...baseView(`[lnstore] OK: ${report.failing} replaced by ${report.newDevice} in ${report.pool} on ${context.host}`, 'OK', context),
      heading: `Disk replaced in ${report.pool}`,
      summary: `${report.failing} was replaced by ${report.newDevice}; the pool is resilvered and ONLINE, ${down}, and the node's database holds what it last wrote (data_version ${report.dataVersion ?? 'none'}, quick_check ok).${report.selfTest ? ` SMART short self-test of the new disk: ${report.selfTest.result} (${report.selfTest.detail}).` : ''}`,
      nextList: nullIfEmpty({items: report.oldDeviceWarning ? [report.oldDeviceWarning] : []}),
      footer: '`lnstore status` shows the pool now.',
    },
    templates,
  )
}

function baseView(subject: string, verdict: Verdict, context: {host: string; now: number}): MailView {
  return {
    subject,
    heading: '',
    color: COLORS[verdict],
    host: context.host,
    time: formatTime(context.now),
    summary: '',
    pool: null,
    nextList: null,
    changeList: null,
    findingList: null,
    deviceList: null,
    scrub: null,
    smtp: null,
    excerpt: null,
    footer: '',
  }
}

function render(view: MailView, templates: MailTemplates): ComposedMail {
  return {subject: view.subject, text: renderTemplate(templates.text, view), html: renderTemplate(templates.html, view, escapeHtml)}
}

function deviceTable(devices: DeviceObservation[]): MailView['deviceList'] {
  if (devices.length === 0) return null
  const rates = (device: DeviceObservation) => {
    if (!device.rates) return 'no history'
    const recent = `${device.rates.lastHour} / ${device.rates.lastDay} / ${device.rates.lastWindow}`
    // Counters with no new errors in the window: say where the counted ones come from, or "new 0" reads as a contradiction.
    return device.rates.lastWindow === 0 && counted(device) > 0 ? `${recent} (the ${counted(device)} counted are older, or from before lnstore watched)` : recent
  }
  const count = (value: number | null) => (value === null ? '-' : String(value))
  const width = Math.max(...devices.map((device) => device.name.length))
  return {
    windowDays: devices.find((device) => device.rates)?.rates?.windowDays ?? 30,
    rows: devices.map(
      (device) =>
        `${device.name.padEnd(width)}  ${device.verdict.padEnd(8)}  read ${count(device.read)}  write ${count(device.write)}  cksum ${count(device.cksum)}  new ${rates(device)}`,
    ),
    items: devices.map((device) => ({name: device.name, verdict: device.verdict, read: count(device.read), write: count(device.write), cksum: count(device.cksum), rates: rates(device)})),
  }
}

function counterRows(devices: DeviceCounterChange[]): string[] {
  const width = Math.max(0, ...devices.map((device) => device.name.length))
  return devices.map((device) => `${device.name.padEnd(width)}  +${device.read} read  +${device.write} write  +${device.cksum} cksum`)
}

const counted = (device: DeviceObservation) => (device.read ?? 0) + (device.write ?? 0) + (device.cksum ?? 0)

function nullIfEmpty<T extends {items: unknown[]} | {rows: unknown[]}>(section: T): T | null {
  return ('items' in section ? section.items : section.rows).length > 0 ? section : null
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`
}

/** Local time as `2026-11-25 03:04 +01:00`: mail readers may be elsewhere. */
export function formatTime(epochMs: number): string {
  const date = new Date(epochMs)
  const pad = (value: number) => String(value).padStart(2, '0')
  const offset = -date.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())} ${zone}`
}
