import type { ReportKind } from './report.js'

/**
 * What is known about a request's outcome when it is classified.
 *
 * @example
 * ```ts
 * const quiet = { loggedError: false, loggedWarning: false, suspicious: false }
 * const facts: OutcomeFacts = { ...quiet, status: 200, finished: false }
 * classifyOutcome(facts) // 'aborted': the client hung up, which is not the app's error
 * ```
 */
export interface OutcomeFacts {
  /** The response status the client got (or is getting). */
  status: number
  /** Whether the whole response was handed to the client. */
  finished: boolean
  /** An exception the request raised, if any. */
  exception?: {
    /** The status the error asks for, read by shape (400–599), if any. */
    status?: number
    /** Whether it is the client's doing: a disconnect, an aborted body, EPIPE on a gone socket. */
    clientAbort: boolean
  }
  /** Whether the request logged a hand-written error through `req.log.error`. */
  loggedError: boolean
  /** Whether the request logged a warning through `req.log.warn`. */
  loggedWarning: boolean
  /** Whether a detector found the request suspicious. */
  suspicious: boolean
}

/**
 * How an outcome is reported: one of the three kinds, an aborted request
 * (recorded at info), or nothing.
 *
 * @example
 * ```ts
 * const outcome: OutcomeClass = classifyOutcome(facts)
 * // a healthy response (undefined) and a client that hung up ('aborted') are not the app's fault
 * const appFault = outcome === 'error' || outcome === 'traceback'
 * ```
 */
export type OutcomeClass = ReportKind | 'aborted' | undefined

/**
 * The one rule that sorts every request's outcome, as a pure function:
 *
 * - an exception that is the client's doing is an aborted request, not the app's error;
 * - an exception with a 4xx status is a warning (unless the response became a 5xx anyway);
 * - any other exception is a traceback;
 * - a hand-written error, or a 5xx that no exception explains, is an error;
 * - a response that never finished, with nothing else wrong, is an aborted request;
 * - a 4xx, a hand-written warning or a suspicious request is a warning.
 *
 * @example
 * ```ts
 * classifyOutcome({ status: 500, finished: true, loggedError: false, loggedWarning: false, suspicious: false })
 * // 'error': the app rendered its own 500 page without throwing
 * ```
 */
export function classifyOutcome(facts: OutcomeFacts): OutcomeClass {
  const { exception } = facts
  if (exception) {
    if (exception.clientAbort) return 'aborted'
    const asksFor4xx = exception.status !== undefined && exception.status < 500
    return asksFor4xx && !(facts.finished && facts.status >= 500) ? 'warning' : 'traceback'
  }
  if (facts.loggedError || facts.status >= 500) return 'error'
  if (!facts.finished) return 'aborted'
  if (facts.loggedWarning || facts.suspicious || facts.status >= 400) return 'warning'
  return undefined
}
