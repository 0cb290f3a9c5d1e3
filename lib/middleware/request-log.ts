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

/**
 * The winston child logger behind `req.log`. Info and debug lines go straight
 * through, bound to the request; errors and warnings are held on the request
 * instead, so a hand-written error and the 500 it caused become one report
 * when the response ends. `scrub` cleans the lines that go straight through.
 * `describe` gives the request's fields for those lines, asked once on the
 * first: a request that only logs an error never scrubs its URL here.
 */
export function createRequestLogger(
  logger: Logger,
  describe: () => Record<string, unknown>,
  hold: (message: RecordedMessage) => void,
  scrub: (info: Record<string | symbol, unknown>) => Record<string | symbol, unknown> = (info) =>
    info,
): Logger {
  let meta: Record<string, unknown> | undefined
  return Object.create(logger, {
    write: {
      value(info: Record<string | symbol, unknown> & { level?: string }) {
        const level = INTERCEPTED[info.level ?? '']
        if (level) {
          hold(toRecordedMessage(level, info))
          return true
        }
        const merged = Object.assign({}, (meta ??= describe()), info)
        if (info instanceof Error) {
          merged.message = info.message
          merged.stack = info.stack
        }
        // info and debug lines skip the report, so they are scrubbed here: URL credentials, tokens, the request's secrets
        return logger.write(scrub(merged))
      },
    },
  }) as Logger
}
