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
