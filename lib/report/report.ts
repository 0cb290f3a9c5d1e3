// The shape of a report, apart from building it (build-report.ts): transports, stores and the
// dashboard need the types and `isReport` without loading the scrubber and fingerprinting.
import type { SerializedError } from './serialize-error.js'

/**
 * The trace a report belongs to, under the names OpenTelemetry's winston and
 * pino instrumentations give log records: lowercase hex ids, and the flags as
 * two hex digits (`01`: sampled).
 */
export interface TraceFields {
  trace_id: string
  span_id: string
  trace_flags: string
}

/**
 * The three outcomes worth reporting.
 *
 * @example
 * ```ts
 * const paged: ReportKind[] = ['error', 'traceback'] // warnings are mostly clients and scanners
 * faultline.on('report', (report) => {
 *   if (paged.includes(report.kind)) pager.alert(`${report.id} ${report.message}`)
 * })
 * ```
 */
export type ReportKind = 'warning' | 'error' | 'traceback'

/**
 * Where in the request's life an error happened; `process` for an uncaught
 * exception or an unhandled rejection.
 *
 * @example
 * ```ts
 * faultline.on('report', ({ locus }) => {
 *   // the headers were out: the client got a cut-off response, never the error page
 *   if (locus === 'after-headers') metrics.increment('responses.truncated')
 * })
 * ```
 */
export type Locus = 'before-headers' | 'after-headers' | 'after-finish' | 'at-close' | 'process'

/**
 * How a report was tied to its request: `exact` when the error came through
 * the request's own call chain (a sync throw, `next(err)`, a rejection of a
 * promise a handler returned, `req.log`, the response's status, a callback
 * wrapped with `faultline.bind`); `async-context` when faultline found the
 * request only through the async context an uncaught exception or a floated
 * rejection surfaced in, which a shared connection (a pool's socket opened by
 * another request) can make the wrong one.
 *
 * @example
 * ```ts
 * faultline.on('report', ({ attribution, request }) => {
 *   // the URL and user may be another request's: do not page its owner on this alone
 *   if (attribution === 'async-context') metrics.increment('reports.loosely-attributed', { url: request?.url })
 * })
 * ```
 */
export type Attribution = 'exact' | 'async-context'

/**
 * The request, as a report shows it: scrubbed, JSON-safe.
 *
 * @example
 * ```ts
 * faultline.on('report', ({ status, request }) => {
 *   // a 404 linked from the site's own pages is a broken link to fix, not a scanner
 *   if (status === 404 && request?.internalReferer) brokenLinks.add(request.referer ?? request.url)
 * })
 * ```
 */
export interface RequestInfo {
  method: string
  url: string
  /** The route pattern that matched (`/orders/:id`), when one did. */
  route?: string
  /** Scrubbed; left out of a repeat's compact report. */
  headers?: Record<string, string>
  ip?: string
  userAgent?: string
  referer?: string
  /** Whether the referer is a page of this same site: a broken internal link is worth more than a scanner. */
  internalReferer?: boolean
  xhr: boolean
  query?: unknown
  body?: unknown
}

/**
 * A hand-written message logged through `req.log` during the request.
 *
 * @example
 * ```ts
 * // the handler's own lines tell what it was doing when the outcome came
 * faultline.on('report', ({ id, logs = [] }) => {
 *   for (const { level, message } of logs) console.log(`${id} ${level}: ${message}`)
 * })
 * ```
 */
export interface LoggedMessage {
  level: 'error' | 'warn'
  message: string
}

/**
 * One reported outcome: a plain, JSON-safe object, scrubbed before anyone
 * (a `report` listener, a transport) sees it.
 *
 * @example
 * ```ts
 * faultline.on('report', (report: Report) => {
 *   if (report.repeatOf) return // a storm's compact repeat: its full report was posted already
 *   chat.post(`[${report.id}] ${report.kind} ${report.status ?? ''} ${report.message}`)
 * })
 * ```
 */
export interface Report {
  /** The incident id the user can quote to support. */
  id: string
  kind: ReportKind
  level: 'warn' | 'error'
  status?: number
  message: string
  fingerprint: string
  time: string
  app: string
  host: string
  pid: number
  request?: RequestInfo
  error?: SerializedError
  locus?: Locus
  /** On a request's report: how it was tied to that request (see `Attribution`). */
  attribution?: Attribution
  /** Why the request looks like an attack or a probe. */
  suspicious?: string
  /** Hand-written messages the request logged. */
  logs?: LoggedMessage[]
  /** On a repeat's compact report: the id of the full report, within the last minute, of the same outcome. */
  repeatOf?: string
  /** On a rate-limit summary: how many warnings were held back. */
  dropped?: { total: number; clients: Array<{ family: string; client: string; count: number }> }
  /** The OpenTelemetry trace of the request's span (32 hex digits), when `@opentelemetry/api` is installed and a span was active. */
  trace_id?: TraceFields['trace_id']
  /** That span's id (16 hex digits). */
  span_id?: TraceFields['span_id']
  /** Its trace flags as two hex digits: `01` when sampled. */
  trace_flags?: TraceFields['trace_flags']
}

/**
 * Whether a winston record is one of faultline's reports, read by shape: the
 * one check every transport and formatter uses.
 *
 * @example
 * ```ts
 * if (isReport(info)) mailer.add(info) // info is a Report here
 * ```
 */
export function isReport(info: Record<string, unknown>): info is Record<string, unknown> & Report {
  return (
    typeof info.kind === 'string' &&
    typeof info.id === 'string' &&
    typeof info.fingerprint === 'string'
  )
}

/**
 * What winston carries for a report: a shallow copy, since winston adds
 * `level` and its symbols to the record it is handed, and the report itself
 * stays as the `report` listeners saw it.
 *
 * @example
 * ```ts
 * logger.log(toLogRecord(report))
 * ```
 */
export function toLogRecord(report: Report): Record<string | symbol, unknown> & Report {
  return { ...report }
}
