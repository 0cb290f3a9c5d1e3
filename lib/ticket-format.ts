import type { Report } from './report.js'
import { formatErrorChain } from './serialize-error.js'

/** One later occurrence, kept for the batched comment. */
export interface TicketOccurrence {
  id: string
  time: string
  url?: string
}

const TITLE_MAX = 240

/** The ticket's title: error type, message and route, one line, within Redmine's 255 characters. */
export function ticketTitle(report: Report): string {
  const where = report.request ? ` — ${report.request.method} ${report.request.route ?? report.request.url.split('?')[0]}` : ''
  // eslint-disable-next-line no-control-regex
  const line = `${report.message}${where}`.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim()
  return line.length > TITLE_MAX ? `${line.slice(0, TITLE_MAX - 1)}…` : line
}

/** Keeps text inside a `<pre>` block: no closing tag can end it early. */
function preSafe(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The ticket's body: incident, host, first seen, the scrubbed request and the traceback with its causes. */
export function ticketBody(report: Report): string {
  const lines = [
    `Fingerprint: ${report.fingerprint}`,
    `First incident: ${report.id}`,
    `First seen: ${report.time}`,
    `Kind: ${report.kind}${report.status ? ` (${report.status})` : ''}`,
    `App: ${report.app}, host ${report.host}, pid ${report.pid}`,
  ]
  if (report.request) {
    const r = report.request
    lines.push(`Request: ${r.method} ${r.url}${r.route ? ` (route ${r.route})` : ''}`)
    if (r.referer) lines.push(`Referer: ${r.referer}`)
    if (r.userAgent) lines.push(`User agent: ${r.userAgent}`)
  }
  if (report.logs?.length) lines.push('', 'Logged during the request:', ...report.logs.map((l) => `- ${l.level}: ${l.message}`))
  const trace = formatErrorChain(report.error)
  if (trace) lines.push('', 'Traceback:', '', `<pre>${preSafe(trace)}</pre>`)
  if (report.request) lines.push('', 'Request headers (scrubbed):', '', `<pre>${preSafe(Object.entries(report.request.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n'))}</pre>`)
  lines.push('', `faultline:fingerprint:${report.fingerprint}`)
  return lines.join('\n')
}

/** The batched comment: "12 more occurrences since …, incident ids …, last seen …". */
export function occurrencesComment(count: number, since: string, occurrences: TicketOccurrence[], lastSeen: string): string {
  const listed = occurrences.map((o) => `- ${o.id} at ${o.time}${o.url ? ` (${o.url})` : ''}`)
  const more = count - occurrences.length
  return [`${count} more occurrence${count === 1 ? '' : 's'} since ${since}; last seen ${lastSeen}.`, '', 'Incident ids:', ...listed, ...(more > 0 ? [`- … and ${more} more`] : [])].join('\n')
}

/** The note on a reopened ticket. */
export function regressionComment(report: Report): string {
  return `Regression: seen again at ${report.time} (incident ${report.id}) after the ticket was closed, so it was reopened.`
}
