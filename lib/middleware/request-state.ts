import type { Request, Response } from 'express'
import type { Logger } from 'winston'
import type { Attribution, Locus, Report } from '../report/report.js'
import type { SuspicionFound } from '../report/suspicious.js'

/** An exception recorded on a request. */
export interface RecordedException {
  error: unknown
  locus: Locus
  clientAbort: boolean
  route?: string
  /** Set when the request was found only through the async context the error surfaced in. */
  attribution?: Attribution
}

/** A hand-written message recorded through `req.log`. */
export interface RecordedMessage {
  level: 'error' | 'warn'
  /** The message as written, before interpolation: what groups it into a fingerprint. */
  template: string
  message: string
  error?: unknown
  /** Where in the response's life it was logged. */
  locus?: Locus
}

/**
 * What faultline knows about one request while it runs. It exists only once
 * something happened (an error, a log, a suspicion): a request that goes well
 * never allocates one.
 */
export interface RequestState {
  /** The incident id of the request's main report, fixed as soon as a page may show it. */
  id?: string
  exceptions: RecordedException[]
  messages: RecordedMessage[]
  suspicion?: SuspicionFound
  route?: string
  /** The request's `req.log`, once used. */
  log?: Logger
  /** The report the debug page showed, built once: it goes out at close unless the outcome changed since. */
  preview?: { error: unknown; report: Report }
  /** Set once the response closed and the request's outcome was reported. */
  finalized: boolean
  /** A request to faultline's own incident view: its outcome is never reported. */
  quiet?: boolean
}

const STATE = Symbol('faultline.state')

type WithState = Request & { [STATE]?: RequestState }

/** The request's state, if anything happened to it. */
export function peekState(req: Request): RequestState | undefined {
  return (req as WithState)[STATE]
}

/** The request's state, created on first need. */
export function getState(req: Request): RequestState {
  const holder = req as WithState
  let state = holder[STATE]
  if (!state) {
    state = { exceptions: [], messages: [], finalized: false }
    holder[STATE] = state
  }
  return state
}

/**
 * Where in the response's life the request is now: an error page is possible
 * only before headers; after them the status can no longer change.
 */
export function getLocus(res: Response, state: RequestState | undefined): Locus {
  if (isClosed(res, state)) return 'at-close'
  if (res.writableEnded) return 'after-finish'
  if (res.headersSent) return 'after-headers'
  return 'before-headers'
}

/**
 * Whether the request's outcome was already reported: its response closed.
 * A request that went well has no state, so the response itself is asked.
 */
export function isClosed(res: Response | undefined, state: RequestState | undefined): boolean {
  return state?.finalized === true || (res as { closed?: boolean } | undefined)?.closed === true
}
