import type { Request } from 'express'
import { STATUS_CODES } from 'node:http'
import { readField } from './error-status.js'
import { computeFingerprint, getAppFrames, normalizeMessage, normalizePath } from './fingerprint.js'
import type { Scrubber } from '../scrub/scrub.js'
import { scrubErrorFields, scrubReport } from '../scrub/scrub-report.js'
import { serializeError, truncate, type SerializedError } from './serialize-error.js'
import { traceOf, type TraceFields } from './trace.js'
import { isoTime } from './clock.js'

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

/** What is known about an outcome before it becomes a report. */
export interface ReportInput {
  id: string
  kind: ReportKind
  status?: number
  error?: unknown
  hasError: boolean
  locus?: Locus
  suspicious?: string
  family?: string
  logs?: Array<LoggedMessage & { template: string; error?: unknown }>
  route?: string
  req?: Request
}

/** What stays the same for every report of one faultline instance. */
export interface ReportContext {
  app: string
  host: string
  pid: number
  appRoot: string
  scrubber: Scrubber
}

const MAX_LOGS = 20
const MAX_BODY_CHARS = 10_000

/** The route pattern that matched, mounted path included. */
export function getRoute(req: Request): string | undefined {
  const path = readField(readField(req, 'route'), 'path')
  if (path === undefined) return undefined
  const base = req.baseUrl ?? ''
  if (base || typeof path !== 'string' || /[*?(]/.test(path)) return `${base}${String(path)}`
  const url = req.originalUrl ?? req.url
  // the common case, a route of the app itself matched as written: no mount point to find
  if (url === path || (url.startsWith(path) && url.charCodeAt(path.length) === 63)) return path
  // once a mounted router hands an error back, baseUrl is restored already: the URL still shows the mount point
  const urlSegments = url.split('?')[0]!.split('/').filter(Boolean)
  const mountDepth = urlSegments.length - path.split('/').filter(Boolean).length
  return mountDepth > 0
    ? `${normalizePath(`/${urlSegments.slice(0, mountDepth).join('/')}`)}${path}`
    : path
}

/** Whether the request came from a script on a page (X-Requested-With, or fetch's Sec-Fetch-Dest: empty). */
export function isXhrRequest(headers: Request['headers']): boolean {
  const requestedWith = headers['x-requested-with']
  if (typeof requestedWith === 'string' && requestedWith.toLowerCase() === 'xmlhttprequest')
    return true
  return headers['sec-fetch-dest'] === 'empty' && headers['sec-fetch-mode'] !== 'navigate'
}

function isInternalReferer(referer: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(referer).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

function readBody(req: Request, scrubber: Scrubber, secrets: Set<string>): unknown {
  const body = readField(req, 'body')
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return truncate(body, MAX_BODY_CHARS)
  if (Buffer.isBuffer(body)) return `[${body.length} bytes]`
  if (typeof body !== 'object') return undefined
  // one walk, no Object.keys here: a parsed body of 10,000 fields is listed once, by the scrubber
  const fields = scrubber.fields(body, secrets)
  return fields && typeof fields === 'object' && Object.keys(fields).length === 0
    ? undefined
    : fields
}

function readQuery(req: Request, scrubber: Scrubber, secrets: Set<string>): unknown {
  try {
    // Express 5 parses the query string on every read: without one, and none set by a middleware, there is nothing
    if (!Object.hasOwn(req, 'query') && !(req.originalUrl ?? req.url ?? '').includes('?'))
      return undefined
    const query = req.query
    return query && typeof query === 'object' && Object.keys(query).length > 0
      ? scrubber.fields(query, secrets)
      : undefined
  } catch {
    return undefined
  }
}

/** Remembers the secrets a request carries (headers, URL, query, body) without describing it: for compact reports and log lines. */
export function collectRequestSecrets(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
): Record<string, string> {
  return scrubRequestLine(req, scrubber, secrets).headers
}

/** `collectRequestSecrets`, also giving the scrubbed URL it read on the way: a repeat shows it. */
export function scrubRequestLine(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
): { headers: Record<string, string>; url: string } {
  const headers = scrubber.headers(req.headers, secrets)
  const url = scrubber.url(truncate(req.originalUrl ?? req.url ?? '', 4000), secrets)
  readQuery(req, scrubber, secrets)
  readBody(req, scrubber, secrets)
  return { headers, url }
}

/** The request as a report shows it; secret values found on the way are added to `secrets`. */
export function describeRequest(
  req: Request,
  scrubber: Scrubber,
  secrets: Set<string>,
  route?: string,
): RequestInfo {
  const headers = scrubber.headers(req.headers, secrets)
  const info: RequestInfo = {
    method: req.method,
    url: scrubber.url(truncate(req.originalUrl ?? req.url ?? '', 4000), secrets),
    headers,
    xhr: isXhrRequest(req.headers),
  }
  const matched = route ?? getRoute(req)
  if (matched) info.route = matched
  try {
    if (req.ip) info.ip = req.ip
  } catch {
    // a broken trust-proxy setting must not cost the report
  }
  if (headers['user-agent']) info.userAgent = headers['user-agent']
  const referer = headers.referer ?? headers.referrer
  if (referer) {
    info.referer = referer
    info.internalReferer = isInternalReferer(referer, req.headers.host)
  }
  const query = readQuery(req, scrubber, secrets)
  if (query !== undefined) info.query = query
  const body = readBody(req, scrubber, secrets)
  if (body !== undefined) info.body = body
  return info
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n')
  return truncate(nl === -1 ? text : text.slice(0, nl), 500)
}

function reasonOf(status: number | undefined): string {
  return status === undefined ? '' : `${status} ${STATUS_CODES[status] ?? ''}`.trim()
}

function summarize(
  input: ReportInput,
  error: SerializedError | undefined,
  request: RequestInfo | undefined,
): string {
  const where = request ? ` — ${request.method} ${request.route ?? request.url}` : ''
  if (input.kind === 'traceback' && error) return firstLine(`${error.name}: ${error.message}`)
  const logged = input.logs?.find(
    (log) => log.level === (input.kind === 'error' ? 'error' : 'warn'),
  )
  if (logged) return firstLine(logged.message)
  if (input.suspicious) return firstLine(`${input.suspicious}${where}`)
  if (error) return firstLine(`${error.name}: ${error.message}`)
  if (input.kind === 'error') return `${reasonOf(input.status)} response with no exception${where}`
  return `${reasonOf(input.status)}${where}`
}

// the same error thrown again and again has the same name, message and stack: its fingerprint is worked out once
const errorFingerprints = new Map<string, string>()

function fingerprintOfError(kind: string, error: SerializedError, appRoot: string): string {
  const key = `${kind}\u0000${error.name}\u0000${error.message}\u0000${error.stack ?? ''}`
  let fingerprint = errorFingerprints.get(key)
  if (fingerprint === undefined) {
    fingerprint = computeFingerprint([
      kind,
      error.name,
      normalizeMessage(error.message),
      ...getAppFrames(error.stack, appRoot),
    ])
    if (errorFingerprints.size >= 2000) errorFingerprints.clear()
    // a long key would hold megabytes across 2000 entries; such an error is fingerprinted each time
    if (key.length <= 16 * 1024) errorFingerprints.set(key, fingerprint)
  }
  return fingerprint
}

function fingerprintOf(
  input: ReportInput,
  error: SerializedError | undefined,
  request: RequestInfo | undefined,
  appRoot: string,
): string {
  if (error && (input.kind === 'traceback' || !input.logs?.length))
    return fingerprintOfError(input.kind, error, appRoot)
  return computeFingerprint(fingerprintParts(input, request))
}

function fingerprintParts(input: ReportInput, request: RequestInfo | undefined): string[] {
  const place = request ? `${request.method} ${request.route ?? normalizePath(request.url)}` : ''
  const logged = input.logs?.find(
    (log) => log.level === (input.kind === 'error' ? 'error' : 'warn'),
  )
  if (logged) return [input.kind, place, normalizeMessage(logged.template)]
  if (input.kind === 'warning')
    return [input.kind, place, String(input.status ?? ''), input.family ?? '']
  return [input.kind, place, String(input.status ?? '')]
}

/**
 * Builds the report of one outcome: serialises the error, describes the
 * request, scrubs everything once (secret headers and fields, and any of their
 * values wherever else they turn up), then fingerprints the scrubbed result.
 * Only called when there is something to report.
 */
export function buildReport(ctx: ReportContext, input: ReportInput): Report {
  const secrets = new Set<string>()
  const request = input.req
    ? describeRequest(input.req, ctx.scrubber, secrets, input.route)
    : undefined
  let error = input.hasError ? serializeError(input.error) : undefined
  if (!error) {
    const logged = input.logs?.find((log) => log.error !== undefined)
    if (logged) error = serializeError(logged.error)
  }
  if (error) scrubErrorFields(error, ctx.scrubber, secrets)
  const draft: Omit<Report, 'fingerprint'> = {
    id: input.id,
    kind: input.kind,
    level: input.kind === 'warning' ? 'warn' : 'error',
    message: '',
    time: isoTime(),
    app: ctx.app,
    host: ctx.host,
    pid: ctx.pid,
  }
  if (input.status !== undefined) draft.status = input.status
  if (request) draft.request = request
  if (error) draft.error = error
  if (input.locus) draft.locus = input.locus
  if (input.suspicious) draft.suspicious = input.suspicious
  if (input.logs?.length)
    draft.logs = input.logs
      .slice(0, MAX_LOGS)
      .map(({ level, message }) => ({ level, message: truncate(message, 8192) }))
  const report = scrubReport(draft, ctx.scrubber, secrets) as Report
  report.message = ctx.scrubber.text(summarize(input, report.error, report.request), secrets)
  const templates = input.logs?.map((log) => ({
    ...log,
    template: ctx.scrubber.text(log.template, secrets),
  }))
  report.fingerprint = fingerprintOf(
    { ...input, logs: templates },
    report.error,
    report.request,
    ctx.appRoot,
  )
  addTrace(report, input)
  return report
}

/**
 * Puts the OpenTelemetry trace on a report, after scrubbing (the ids are
 * checked hex, and a scrubber must not take them for tokens): a request's
 * report carries its span; an error reported outside a request, the span
 * active when it was reported. A summary (no request, no error) carries none.
 */
export function addTrace(report: Report, input: Pick<ReportInput, 'req' | 'hasError'>): void {
  if (!input.req && !input.hasError) return
  const trace = traceOf(input.req)
  if (!trace) return
  report.trace_id = trace.trace_id
  report.span_id = trace.span_id
  report.trace_flags = trace.trace_flags
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
