import type { Logger } from 'winston'
import { format } from 'node:util'
import { SPLAT } from 'triple-beam'
import type { RecordedMessage } from './request-state.js'

// an app's own logger may have syslog's level names: its errors and warnings join the report all the same
const INTERCEPTED: Record<string, RecordedMessage['level']> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  err: 'error',
  warn: 'warn',
  warning: 'warn',
}

/** Reads what was logged: the template as written, the message as interpolated, and an Error passed along. */
function toRecordedMessage(
  level: RecordedMessage['level'],
  info: Record<string | symbol, unknown>,
): RecordedMessage {
  const splat = info[SPLAT] as unknown[] | undefined
  const raw = info.message
  let error: unknown = info instanceof Error ? info : raw instanceof Error ? raw : undefined
  let template = typeof raw === 'string' ? raw : raw instanceof Error ? raw.message : String(raw)
  const args = splat?.filter((arg) => {
    if (arg instanceof Error && error === undefined) {
      error = arg
      return false
    }
    return true
  })
  // winston appends a meta error's message to the text; the template stays what the app wrote
  if (
    error instanceof Error &&
    (error as unknown) !== info &&
    template.endsWith(` ${error.message}`)
  )
    template = template.slice(0, -error.message.length - 1)
  const message =
    args?.length && template.includes('%')
      ? format(template, ...args)
      : typeof raw === 'string'
        ? raw
        : template
  return { level, template, message, error }
}

/** What `req.log` hands on, per request: faultline's lifecycle. */
export interface RequestLogSink<Req> {
  /** The request's fields for the lines that go straight through, asked once, on the first. */
  describe(req: Req): Record<string, unknown>
  /** An error or warning, held on the request for its report. */
  hold(req: Req, message: RecordedMessage): void
  /** A scrubber of the request's own info and debug lines, made on the first. */
  scrubberFor(
    req: Req,
  ): (info: Record<string | symbol, unknown>) => Record<string | symbol, unknown>
}

const REQUEST = Symbol('faultline.log-request')
const META = Symbol('faultline.log-meta')
const SCRUB = Symbol('faultline.log-scrub')

interface RequestLog<Req> {
  [REQUEST]: Req
  [META]?: Record<string, unknown>
  [SCRUB]?: (info: Record<string | symbol, unknown>) => Record<string | symbol, unknown>
}

/**
 * The prototype of every request's `req.log`: the logger, with a `write`
 * that reads the request from the child, so a request's logger is one small
 * object and no closure. Info and debug lines go straight through, bound to
 * the request and scrubbed; errors and warnings are held on the request
 * instead, so a hand-written error and the 500 it caused become one report
 * when the response ends.
 */
export function createRequestLogBase<Req>(logger: Logger, sink: RequestLogSink<Req>): Logger {
  return Object.create(logger, {
    write: {
      value(this: RequestLog<Req>, info: Record<string | symbol, unknown> & { level?: string }) {
        const req = this[REQUEST]
        const level = INTERCEPTED[info.level ?? '']
        if (level) {
          sink.hold(req, toRecordedMessage(level, info))
          return true
        }
        const merged = Object.assign({}, (this[META] ??= sink.describe(req)), info)
        if (info instanceof Error) {
          merged.message = info.message
          merged.stack = info.stack
        }
        // info and debug lines skip the report, so they are scrubbed here: URL credentials, tokens, the request's secrets
        return logger.write((this[SCRUB] ??= sink.scrubberFor(req))(merged))
      },
    },
  }) as Logger
}

/** The winston child logger behind one request's `req.log`, on the base `createRequestLogBase` made. */
export function createRequestLogger<Req>(base: Logger, req: Req): Logger {
  const log = Object.create(base) as RequestLog<Req>
  log[REQUEST] = req
  return log as unknown as Logger
}
