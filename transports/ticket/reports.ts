import type { Report } from '../../lib/report/report.js'
import type { TicketOccurrence } from './format.js'

const MAX_SLIM_MESSAGE = 500

/** What a window needs of a first report past the byte budget: the title's facts and the ids, never the request's data. */
export function slim(report: Report): Report {
  const { id, kind, level, status, fingerprint, time, app, host, pid, request } = report
  const message =
    report.message.length > MAX_SLIM_MESSAGE
      ? `${report.message.slice(0, MAX_SLIM_MESSAGE)}…`
      : report.message
  return {
    id,
    kind,
    level,
    status,
    message,
    fingerprint,
    time,
    app,
    host,
    pid,
    ...(request
      ? {
          request: {
            method: request.method,
            url: request.url,
            route: request.route,
            xhr: request.xhr,
          },
        }
      : {}),
  }
}

/** What a window keeps of a later occurrence: enough to find it again, nothing more. */
export function occurrenceOf(report: Report): TicketOccurrence {
  return {
    id: report.id,
    time: report.time,
    ...(report.request ? { url: report.request.url } : {}),
  }
}

const MAX_LINE_MESSAGE = 200
const MAX_LINE_REQUEST = 120

/** Whitespace and control characters as one space: a quoted input cannot start a line of its own. */
function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

/**
 * A held-back summary's line for an error: its message and the request it
 * answered (`— GET /orders/:id`, the path without its query when no route
 * matched), since a warning's or a 5xx's message need not name it. One line,
 * bounded, whatever the message or URL hold.
 */
export function summaryLineOf(report: Report): string {
  const message = oneLine(String(report.message ?? ''), MAX_LINE_MESSAGE)
  const request = report.request
  if (!request) return message
  const path = request.route ?? String(request.url ?? '').split('?')[0]!
  return `${message} — ${oneLine(`${request.method} ${path}`, MAX_LINE_REQUEST)}`
}
