import { nodeRequire } from '../node-require.cjs'
import { keepSpan } from './span-errors.js'
import type { TraceFields } from './report.js'

/** A span context as `@opentelemetry/api` hands it out, read by shape. */
interface SpanContextLike {
  traceId?: unknown
  spanId?: unknown
  traceFlags?: unknown
}

/** The three functions faultline uses of `@opentelemetry/api`: no type of the package itself, which is optional. */
export interface OpenTelemetryApi {
  trace: {
    getSpanContext(context: unknown): SpanContextLike | undefined
    /** The active span itself, to record an error on; read by shape where used. */
    getSpan?(context: unknown): unknown
  }
  context: { active(): unknown }
  isSpanContextValid(spanContext: SpanContextLike): boolean
}

type Load = (id: string) => unknown

function isApi(value: unknown): value is OpenTelemetryApi {
  const api = value as Partial<Record<keyof OpenTelemetryApi, Record<string, unknown>>> | undefined
  return (
    typeof api?.trace?.getSpanContext === 'function' &&
    typeof api.context?.active === 'function' &&
    typeof api.isSpanContextValid === 'function'
  )
}

/**
 * `@opentelemetry/api` when the app has it installed, else `undefined`: an
 * optional peer, loaded once at start-up. Its CommonJS and ESM builds share
 * one global registry, so the copy required here sees the app's provider.
 *
 * @example
 * ```ts
 * loadOpenTelemetry() // the api, or undefined without the package
 * ```
 */
export function loadOpenTelemetry(load: Load = nodeRequire): OpenTelemetryApi | undefined {
  try {
    const api = load('@opentelemetry/api')
    return isApi(api) ? api : undefined
  } catch {
    return undefined
  }
}

const otel = loadOpenTelemetry()
const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/

function toTraceFields(span: SpanContextLike, api: OpenTelemetryApi): TraceFields | undefined {
  const { traceId, spanId, traceFlags } = span
  // hex of the right length, flags a byte: whatever else a span context holds never reaches a sink
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) return undefined
  if (typeof spanId !== 'string' || !SPAN_ID.test(spanId)) return undefined
  if (typeof traceFlags !== 'number' || !Number.isInteger(traceFlags)) return undefined
  if (traceFlags < 0 || traceFlags > 0xff || !api.isSpanContextValid(span)) return undefined
  return {
    trace_id: traceId,
    span_id: spanId,
    trace_flags: traceFlags.toString(16).padStart(2, '0'),
  }
}

/**
 * The trace of the span active right now, through `api` (none without it),
 * when a valid span is active: never the all-zero ids of a non-recording context.
 *
 * @example
 * ```ts
 * tracer.startActiveSpan('work', () => readActiveTrace(loadOpenTelemetry())) // { trace_id: '…', span_id: '…', trace_flags: '01' }
 * ```
 */
export function readActiveTrace(api: OpenTelemetryApi | undefined): TraceFields | undefined {
  if (!api) return undefined
  try {
    const span = api.trace.getSpanContext(api.context.active())
    return span ? toTraceFields(span, api) : undefined
  } catch {
    // a broken context manager must not cost the report
    return undefined
  }
}

const CAPTURED = Symbol('faultline.trace')

type WithTrace = object & { [CAPTURED]?: TraceFields }

/**
 * Remembers on a request the span active now, once: the first capture wins.
 * Reports are built when the response closes, and a library that loses the
 * async context (a pool's callback) may close it outside the request's span.
 */
export function captureTrace(req: object | undefined): void {
  if (!otel || !req || (req as WithTrace)[CAPTURED]) return
  const trace = readActiveTrace(otel)
  if (!trace) return
  ;(req as WithTrace)[CAPTURED] = trace
  keepSpan(req, readActiveSpan(otel))
}

/** The span object active now, for an error to be recorded on later; undefined when the api cannot say. */
function readActiveSpan(api: OpenTelemetryApi): unknown {
  try {
    return api.trace.getSpan?.(api.context.active())
  } catch {
    return undefined
  }
}

/** The trace a request's report carries: the one captured on the request, else the span active now. */
export function traceOf(req: object | undefined): TraceFields | undefined {
  return (req && (req as WithTrace)[CAPTURED]) || readActiveTrace(otel)
}

const TRACE_FLAGS = /^[0-9a-f]{2}$/

/**
 * A record's trace fields, read by shape for a sink: all three, each the hex
 * it must be, or none. A record reaching a transport may come from anywhere.
 *
 * @example
 * ```ts
 * readTraceFields({ trace_id: 'x"]', span_id: '…', trace_flags: '01' }) // undefined
 * ```
 */
export function readTraceFields(record: object): TraceFields | undefined {
  const {
    trace_id: traceId,
    span_id: spanId,
    trace_flags: flags,
  } = record as Record<string, unknown>
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) return undefined
  if (typeof spanId !== 'string' || !SPAN_ID.test(spanId)) return undefined
  if (typeof flags !== 'string' || !TRACE_FLAGS.test(flags)) return undefined
  return { trace_id: traceId, span_id: spanId, trace_flags: flags }
}

/** The trace as one line of text: `<trace_id> (span <span_id>, flags <trace_flags>)`, or `undefined`. */
export function describeTrace(record: object): string | undefined {
  const trace = readTraceFields(record)
  return trace && `${trace.trace_id} (span ${trace.span_id}, flags ${trace.trace_flags})`
}
