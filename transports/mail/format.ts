import { escapeHtml } from '../../lib/pages/html.js'
import { flattenControl } from '../../lib/report/control-chars.js'
import type { Digest, HeldBack } from './throttle.js'
import type { Report } from '../../lib/report/report.js'
import { formatErrorChain, type SerializedError } from '../../lib/report/serialize-error.js'
import { getErrorFrames } from '../../lib/source/source-context.js'
import { describeTrace } from '../../lib/report/trace.js'
import { describeAttribution } from '../../lib/report/attribution.js'

/** A mail ready for nodemailer: subject, both parts and the threading headers. */
export interface ComposedMail {
  subject: string
  text: string
  html: string
  messageId: string
  inReplyTo?: string
  references?: string
}

const SUBJECT_MAX = 200

/** Makes one header-safe line: control characters (CR, LF, tabs…) become spaces, and it is cut to `max`. */
export function toHeaderLine(text: string, max = SUBJECT_MAX): string {
  const line = flattenControl(text).replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

function domainOf(host: string): string {
  return host.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'localhost'
}

/** The Message-ID that a fingerprint's mails thread under: the one of its first mail. */
export function threadIdOf(first: Report): string {
  return `<faultline.${first.fingerprint}.${first.id}@${domainOf(first.host)}>`
}

function whereOf(report: Report): string {
  return report.request
    ? ` — ${report.request.method} ${report.request.route ?? report.request.url}`
    : ''
}

/** `[app] TypeError: … — GET /orders/:id (incident id)`, each part cut so the whole stays readable. */
export function composeSubject(report: Report, lead = ''): string {
  const message = toHeaderLine(report.message, 120)
  const where = toHeaderLine(whereOf(report), 70)
  return toHeaderLine(`[${report.app}] ${lead}${message}${where ? ` ${where}` : ''} (${report.id})`)
}

function sourceContext(error: SerializedError | undefined, appRoot: string | undefined): string {
  // only the stack's own frames, and only source files inside the app: a message quoting input cannot make a mail print a file
  const frames = getErrorFrames(error, {
    radius: 2,
    maxFrames: 30,
    ...(appRoot ? { root: appRoot } : {}),
  }).filter((f) => f.origin === 'app' && f.context)
  return frames
    .slice(0, 3)
    .map(
      (f) =>
        `${f.functionName || '(anonymous)'} at ${f.file}:${f.line}\n${f.context!.map((l) => `${l.current ? '>' : ' '} ${String(l.line).padStart(5)} | ${l.text}`).join('\n')}`,
    )
    .join('\n\n')
}

function facts(report: Report, occurrence: string): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Incident', report.id],
    ['Kind', `${report.kind}${report.status ? ` (${report.status})` : ''}`],
    ['Time', report.time],
    ['Host', `${report.host} (pid ${report.pid})`],
    ['App', report.app],
    ['Fingerprint', report.fingerprint],
    ['Occurrences', occurrence],
  ]
  if (report.locus) rows.push(['Where', report.locus])
  const attribution = describeAttribution(report)
  if (attribution) rows.push(['Attribution', attribution])
  const trace = describeTrace(report)
  if (trace) rows.push(['Trace', trace])
  if (report.request) {
    const r = report.request
    rows.push(['Request', `${r.method} ${r.url}`])
    if (r.route) rows.push(['Route', r.route])
    if (r.ip) rows.push(['Client', r.ip])
    if (r.referer) rows.push(['Referer', `${r.referer}${r.internalReferer ? ' (this site)' : ''}`])
  }
  return rows
}

function textTable(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n')
}

function htmlTable(rows: Array<[string, string]>): string {
  return `<table cellpadding="4" style="border-collapse:collapse;font:13px monospace">${rows.map(([k, v]) => `<tr><th align="left" valign="top">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`
}

function htmlDocument(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font:14px/1.45 sans-serif;color:#1d2330">${body}</body></html>`
}

/**
 * The mail for a report's first occurrence: facts, request, traceback with
 * causes, and source around the app's frames, read only from files inside
 * `appRoot` (default `process.cwd()`).
 */
export function composeReportMail(report: Report, appRoot?: string): ComposedMail {
  const subject = composeSubject(report)
  const rows = facts(report, 'the first of this fingerprint here; later ones come as a digest')
  const chain = formatErrorChain(report.error)
  const source = sourceContext(report.error, appRoot)
  const headers = report.request ? Object.entries(report.request.headers ?? {}) : []
  const logs = report.logs?.map((l) => `${l.level}: ${l.message}`).join('\n') ?? ''
  const sections: Array<[string, string]> = []
  if (report.suspicious) sections.push(['Suspicious', report.suspicious])
  if (logs) sections.push(['Logged during the request', logs])
  if (chain) sections.push(['Traceback', chain])
  if (source) sections.push(['Source', source])
  if (headers.length)
    sections.push(['Request headers (scrubbed)', headers.map(([k, v]) => `${k}: ${v}`).join('\n')])
  if (report.request?.query !== undefined)
    sections.push(['Query (scrubbed)', JSON.stringify(report.request.query, null, 2)])
  if (report.request?.body !== undefined)
    sections.push(['Body (scrubbed)', JSON.stringify(report.request.body, null, 2)])
  const text = `${report.message}\n\n${textTable(rows)}\n${sections.map(([title, body]) => `\n${title}\n${'-'.repeat(title.length)}\n${body}\n`).join('')}`
  const html = htmlDocument(
    subject,
    `<h2 style="margin:0 0 12px">${escapeHtml(report.message)}</h2>${htmlTable(rows)}${sections.map(([title, body]) => `<h3>${escapeHtml(title)}</h3><pre style="background:#f3f4f6;padding:8px;white-space:pre-wrap">${escapeHtml(body)}</pre>`).join('')}`,
  )
  return { subject, text, html, messageId: threadIdOf(report) }
}

/** The digest: "37 more occurrences of … between … and …", with their incident ids and distinct URLs, threaded under the first mail. */
export function composeDigestMail(digest: Digest): ComposedMail {
  const { first } = digest
  const threadId = threadIdOf(first)
  const subject = composeSubject(first, `${digest.count} more: `)
  const summary = `${digest.count} more occurrence${digest.count === 1 ? '' : 's'} of ${first.message}${whereOf(first)} between ${digest.from} and ${digest.to}.`
  const ids = digest.occurrences.map((o) => `${o.id}  ${o.time}${o.url ? `  ${o.url}` : ''}`)
  const more = digest.count - digest.occurrences.length
  const idText = `${ids.join('\n')}${more > 0 ? `\n… and ${more} more` : ''}`
  const urls = digest.urls.join('\n')
  const text = `${summary}\n\nFingerprint: ${first.fingerprint}\nFirst incident: ${first.id}\n\nIncidents\n---------\n${idText}\n${urls ? `\nDistinct URLs\n-------------\n${urls}\n` : ''}`
  const html = htmlDocument(
    subject,
    `<p>${escapeHtml(summary)}</p><p>Fingerprint <code>${escapeHtml(first.fingerprint)}</code>, first incident <code>${escapeHtml(first.id)}</code></p><h3>Incidents</h3><pre>${escapeHtml(idText)}</pre>${urls ? `<h3>Distinct URLs</h3><pre>${escapeHtml(urls)}</pre>` : ''}`,
  )
  const messageId = `<faultline.${first.fingerprint}.digest.${Date.parse(digest.to)}.${digest.count}@${domainOf(first.host)}>`
  return { subject, text, html, messageId, inReplyTo: threadId, references: threadId }
}

/** The summary of what the ceiling held back. */
export function composeHeldBackMail(held: HeldBack, app: string, host: string): ComposedMail {
  const what = held.budget === 'warnings' ? 'warning' : 'error'
  const subject = toHeaderLine(
    `[${app}] ${held.mails} ${what} mails held back by the hourly ceiling (${held.reports} reports)`,
  )
  const lines = held.fingerprints
    .map((f) => `${String(f.reports).padStart(6)}  ${f.fingerprint}  ${f.message}`)
    .join('\n')
  const intro = `Between ${held.from} and ${held.to} the mail ceiling held back ${held.mails} mails covering ${held.reports} reports. Every report is still in the log and the other transports.`
  const text = `${intro}\n\nReports  Fingerprint       Message\n${lines}\n`
  const html = htmlDocument(
    subject,
    `<p>${escapeHtml(intro)}</p><pre>${escapeHtml(`Reports  Fingerprint       Message\n${lines}`)}</pre>`,
  )
  return {
    subject,
    text,
    html,
    messageId: `<faultline.held.${held.budget}.${Date.parse(held.to)}.${held.mails}@${domainOf(host)}>`,
  }
}
