/**
 * Scrubbing a whole report, and the records that are not reports (an aborted
 * request's line, `req.log.info`), with the secrets the request carries.
 * @module
 */
import type { Request } from 'express'
import type { Report } from '../report/report.js'
import { collectRequestSecrets } from '../report/request-info.js'
import { scrubStrings, type Scrubber } from './scrub.js'
import type { SerializedError } from '../report/serialize-error.js'

/** Scrubs the fields of an error, its causes and its AggregateError members, by name. */
export function scrubErrorFields(
  error: SerializedError,
  scrubber: Scrubber,
  secrets: Set<string>,
  depth = 0,
): void {
  if (error.fields)
    error.fields = scrubber.fields(error.fields, secrets) as SerializedError['fields']
  if (depth >= 10) return
  if (error.cause) scrubErrorFields(error.cause, scrubber, secrets, depth + 1)
  for (const member of error.errors ?? []) scrubErrorFields(member, scrubber, secrets, depth + 1)
}

// facts a request cannot hide by sending them as a secret (`?token=<its own IP>`): only patterns apply to them
const FACTS = [
  'id',
  'kind',
  'level',
  'time',
  'app',
  'host',
  'pid',
  'status',
  'locus',
  'repeatOf',
] as const
const REQUEST_FACTS = ['method', 'route', 'ip', 'userAgent', 'xhr', 'internalReferer'] as const
const HEADER_FACTS = ['user-agent', 'host', 'x-forwarded-for', 'x-real-ip', 'forwarded']
// a fresh set each time: what the patterns find in a fact is not carried to another report
function keepFact(value: unknown, scrubber: Scrubber): unknown {
  return typeof value === 'string' ? scrubber.text(value, new Set()) : value
}

/**
 * Scrubs every string of a report: first to find the secrets quoted in free
 * text (a body's `password=…`), then to hide them everywhere. The report's own
 * facts (its ids, the client's IP and User-Agent) are never rewritten by a
 * remembered secret.
 */
export function scrubReport<T extends Omit<Report, 'fingerprint'> | Report>(
  draft: T,
  scrubber: Scrubber,
  secrets: Set<string>,
): T {
  const before = secrets.size
  let report = scrubStrings(draft, scrubber, secrets)
  if (secrets.size !== before) report = scrubStrings(draft, scrubber, secrets)
  for (const key of FACTS)
    if (key in draft)
      (report as Record<string, unknown>)[key] = keepFact(draft[key as keyof T], scrubber)
  const request = draft.request
  if (request && report.request) {
    for (const key of REQUEST_FACTS)
      if (key in request)
        (report.request as unknown as Record<string, unknown>)[key] = keepFact(
          request[key],
          scrubber,
        )
    for (const name of HEADER_FACTS) {
      if (request.headers?.[name] !== undefined && report.request.headers)
        report.request.headers[name] = keepFact(request.headers[name], scrubber) as string
    }
  }
  return report
}

type LogRecord = Record<string | symbol, unknown>

const SPLAT = Symbol.for('splat')
const TEXT_KEYS = new Set(['level', 'message', 'stack'])

function plainError(value: unknown): unknown {
  if (!(value instanceof Error)) return value
  return {
    name: value.name,
    message: value.message,
    ...(value.stack ? { stack: value.stack } : {}),
  }
}

/**
 * Scrubs a log record that is not a report (an aborted request's line,
 * `req.log.info(…, meta)`): its meta by field name, its text by pattern and
 * by the request's remembered secrets. Winston's symbols are kept; the
 * arguments a `%s` template will be filled with are scrubbed too.
 */
export function scrubRecord(info: LogRecord, scrubber: Scrubber, secrets: Set<string>): LogRecord {
  const meta: Record<string, unknown> = {}
  for (const key of Object.keys(info)) if (!TEXT_KEYS.has(key)) meta[key] = plainError(info[key])
  const named = scrubber.fields(meta, secrets) as Record<string, unknown>
  const out: LogRecord = {}
  for (const key of TEXT_KEYS) {
    const value = info[key]
    if (value !== undefined)
      out[key] =
        typeof value === 'string'
          ? scrubber.text(value, secrets)
          : scrubStrings(plainError(value), scrubber, secrets)
  }
  Object.assign(out, scrubStrings(named, scrubber, secrets))
  for (const symbol of Object.getOwnPropertySymbols(info)) out[symbol] = info[symbol]
  const splat = info[SPLAT]
  if (Array.isArray(splat)) {
    out[SPLAT] = splat.map((arg) =>
      arg instanceof Error
        ? scrubber.text(arg.stack ?? arg.message, secrets)
        : scrubStrings(scrubber.fields(arg, secrets), scrubber, secrets),
    )
  }
  return out
}

/**
 * The scrubbing of `req.log` lines: the request's own secrets are gathered
 * on the first line logged, once.
 */
export function createLogScrubber(
  scrubber: Scrubber,
  req: Request,
): (info: LogRecord) => LogRecord {
  let requestSecrets: Set<string> | undefined
  return (info) => {
    if (!requestSecrets) {
      requestSecrets = new Set()
      collectRequestSecrets(req, scrubber, requestSecrets)
    }
    return scrubRecord(info, scrubber, new Set(requestSecrets))
  }
}
