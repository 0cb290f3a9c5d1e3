import type { Report } from '../report/report.js'
import { UNMATCHED_PATH } from '../report/fingerprint.js'
import type { StoredOccurrence } from './types.js'

/** The most of a report the store keeps per fingerprint: its latest, whole while it fits. */
export const MAX_REPORT_BYTES = 16 * 1024
const MAX_TITLE = 200
const MAX_URL = 500

/**
 * What the view lists, at most 200 characters: the message's first line,
 * and where, unless the route column says it already. A warning no route
 * matched is one issue for every path (see `placeOf` in build-report.ts), so
 * its title names no path: not the first one a scanner made up.
 */
export function titleOf(report: Report): string {
  const message = report.message.split('\n', 1)[0] ?? ''
  const request = report.request
  const line =
    request && !request.route ? `${message} — ${request.method} ${pathOf(report)}` : message
  return line.length > MAX_TITLE ? `${line.slice(0, MAX_TITLE - 1)}…` : line
}

function pathOf(report: Report): string {
  if (report.kind === 'warning') return UNMATCHED_PATH
  return report.request?.url.split('?', 1)[0] ?? ''
}

/** An incident id as a lookup key: what a user reads out, in any case, with or without dashes or spaces. */
export function incidentKey(id: string): string {
  return id.replace(/[\s-]/g, '').toUpperCase()
}

/** One occurrence as a window or the index keeps it. */
export function occurrenceOf(report: Report): StoredOccurrence {
  const url = report.request?.url
  // assigned, not spread in: a conditional spread makes a slow object, and this runs per report
  const occurrence: StoredOccurrence = { id: report.id, time: report.time }
  if (url !== undefined) occurrence.url = url.length > MAX_URL ? `${url.slice(0, MAX_URL)}…` : url
  return occurrence
}

/**
 * The report as the store keeps it, within `MAX_REPORT_BYTES`: whole when it
 * fits; else without request headers and body, then with the stack cut, then
 * only its summary. Every version is already scrubbed: it is the report the
 * transports got.
 */
export function boundReport(report: Report): string {
  const whole = JSON.stringify(report)
  if (whole.length <= MAX_REPORT_BYTES) return whole
  const request = report.request && {
    method: report.request.method,
    url: report.request.url.slice(0, MAX_URL),
    ...(report.request.route ? { route: report.request.route } : {}),
    xhr: report.request.xhr,
  }
  const lighter: Report = { ...report, ...(request ? { request } : {}) }
  delete lighter.logs
  const light = JSON.stringify(lighter)
  if (light.length <= MAX_REPORT_BYTES) return light
  const error = report.error && {
    ...report.error,
    stack: (report.error.stack ?? '').slice(0, MAX_REPORT_BYTES / 2),
    message: report.error.message.slice(0, 4096),
  }
  delete (error as { cause?: unknown } | undefined)?.cause
  delete (error as { errors?: unknown } | undefined)?.errors
  const cut = JSON.stringify({ ...lighter, message: report.message.slice(0, 4096), error })
  if (cut.length <= MAX_REPORT_BYTES) return cut
  const { id, kind, level, status, fingerprint, time, app, host, pid } = report
  return JSON.stringify({
    id,
    kind,
    level,
    status,
    message: report.message.slice(0, 4096),
    fingerprint,
    time,
    app,
    host,
    pid,
  })
}
