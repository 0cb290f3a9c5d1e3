import type { Report } from './report.js'

/** The part of an OpenTelemetry span faultline writes to, read by shape: the api package is optional. */
interface SpanLike {
  recordException(exception: { name?: string; message: string; stack?: string }): void
  setStatus(status: { code: number; message?: string }): void
  setAttributes(attributes: Record<string, string>): void
  isRecording?(): boolean
}

// SpanStatusCode.ERROR of @opentelemetry/api
const STATUS_ERROR = 2
// a span exporter holds every event in memory until it sends: a stack is cut, as in a repeat's report
const MAX_STACK = 8192
const MAX_STATUS_MESSAGE = 500

const SPAN = Symbol('faultline.span')
// the incident a span was marked with: an error and the 500 page it caused are one incident
const MARKED = Symbol('faultline.span-marked')

type WithSpan = object & { [SPAN]?: SpanLike; [MARKED]?: string }

function isSpan(value: unknown): value is SpanLike {
  const span = value as Partial<Record<keyof SpanLike, unknown>> | undefined
  return (
    typeof span?.recordException === 'function' &&
    typeof span.setStatus === 'function' &&
    typeof span.setAttributes === 'function'
  )
}

// until a span is kept, no request has one: asked on every request, answered without a property look-up
let anyKept = false

/** Remembers the request's span, the one active when faultline first saw the request. */
export function keepSpan(req: object, span: unknown): void {
  if (!isSpan(span)) return
  ;(req as WithSpan)[SPAN] = span
  anyKept = true
}

/** Whether the request has a span an error could be recorded on (and so is worth a report preview). */
export function hasSpan(req: object | undefined): boolean {
  if (!anyKept) return false
  const span = req && (req as WithSpan)[SPAN]
  if (!span) return false
  try {
    return span.isRecording?.() !== false
  } catch {
    return false
  }
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/**
 * Tells the request's span about its error, from the report (scrubbed like
 * every sink): the exception event with `exception.type`, `.message` and
 * `.stacktrace`, status ERROR, and the incident id and fingerprint, so a
 * trace leads to the incident. Once per incident; never throws.
 */
export function markSpanError(req: object | undefined, report: Report): void {
  if (!req || !hasSpan(req)) return
  const holder = req as WithSpan
  if (holder[MARKED] === report.id) return
  holder[MARKED] = report.id
  const span = holder[SPAN]!
  try {
    const error = report.error
    const exception: { name?: string; message: string; stack?: string } = {
      message: error ? error.message : report.message,
    }
    if (error?.name) exception.name = error.name
    if (error?.stack) exception.stack = cut(error.stack, MAX_STACK)
    span.recordException(exception)
    span.setStatus({ code: STATUS_ERROR, message: cut(report.message, MAX_STATUS_MESSAGE) })
    span.setAttributes({
      'faultline.incident_id': report.id,
      'faultline.fingerprint': report.fingerprint,
    })
  } catch {
    // a broken tracer must not cost the request its error page
  }
}

/**
 * Calls `onStatus` with the status as the response's head goes out (Node
 * writes every head through `writeHead`): the HTTP instrumentation ends the
 * span as the response finishes, before faultline builds the report at close.
 */
export function onStatusWritten(
  res: { writeHead: (...args: never[]) => unknown },
  onStatus: (status: unknown) => void,
): void {
  const writeHead = res.writeHead as (...args: unknown[]) => unknown
  res.writeHead = function (this: unknown, ...args: unknown[]) {
    onStatus(args[0])
    return writeHead.apply(this, args)
  } as typeof res.writeHead
}
