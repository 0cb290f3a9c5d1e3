import type { Request } from 'express'
import { METHODS, STATUS_CODES } from 'node:http'
import {
  computeFingerprint,
  getAppFrames,
  normalizeMessage,
  normalizePath,
  UNMATCHED_PATH,
} from './fingerprint.js'
import type {
  Attribution,
  LoggedMessage,
  Locus,
  Report,
  ReportKind,
  RequestInfo,
} from './report.js'
import { describeRequest } from './request-info.js'
import type { Scrubber } from '../scrub/scrub.js'
import { scrubErrorFields, scrubReport } from '../scrub/scrub-report.js'
import { serializeError, truncate, type SerializedError } from './serialize-error.js'
import { traceOf } from './trace.js'
import { isoTime } from './clock.js'

/** What is known about an outcome before it becomes a report. */
export interface ReportInput {
  id: string
  kind: ReportKind
  status?: number
  error?: unknown
  hasError: boolean
  locus?: Locus
  /** How the error was tied to the request; `exact` unless it was found through the async context only. */
  attribution?: Attribution
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
// a method-override middleware can set any string: a warning's fingerprint names only methods Node parses
const KNOWN_METHODS = new Set(METHODS)

function firstLine(text: string): string {
  const nl = text.indexOf('\n')
  return truncate(nl === -1 ? text : text.slice(0, nl), 500)
}

function reasonOf(status: number | undefined): string {
  return status === undefined ? '' : `${status} ${STATUS_CODES[status] ?? ''}`.trim()
}

/**
 * What happened, in one line, without where: every sink names the request
 * itself (the mail subject and ticket title after the message, stderr and
 * syslog around it, the view in its own column), so a message that named it
 * too was read with the request twice.
 */
function summarize(input: ReportInput, error: SerializedError | undefined): string {
  if (input.kind === 'traceback' && error) return firstLine(`${error.name}: ${error.message}`)
  const logged = input.logs?.find(
    (log) => log.level === (input.kind === 'error' ? 'error' : 'warn'),
  )
  if (logged) return firstLine(logged.message)
  if (input.suspicious) return firstLine(input.suspicious)
  if (error) return firstLine(`${error.name}: ${error.message}`)
  if (input.kind === 'error') return `${reasonOf(input.status)} response with no exception`
  return reasonOf(input.status) || 'response'
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

/**
 * Where an outcome happened, for its fingerprint: the method and the route,
 * else the normalised path. A warning no route matched (a 404, a probe, a bad
 * Host) takes no part of its path: the client chose it, and a scanner's
 * made-up paths are one issue per method and family, "404 on unmatched paths",
 * with each URL still in its occurrences.
 */
function placeOf(kind: string, request: RequestInfo): string {
  if (kind !== 'warning') return `${request.method} ${request.route ?? normalizePath(request.url)}`
  const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER'
  return `${method} ${request.route || UNMATCHED_PATH}`
}

function fingerprintParts(input: ReportInput, request: RequestInfo | undefined): string[] {
  const place = request ? placeOf(input.kind, request) : ''
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
  report.message = ctx.scrubber.text(summarize(input, report.error), secrets)
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
  addAttribution(report, input)
  return report
}

/** Says, on a request's report, how it was tied to the request; set after scrubbing, as a fact no request can rewrite. */
export function addAttribution(
  report: Report,
  input: Pick<ReportInput, 'req' | 'attribution'>,
): void {
  if (input.req) report.attribution = input.attribution ?? 'exact'
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
