import type { Request, Response } from 'express'
import { isClosed, peekState } from './request-state.js'
import type { Attribution } from '../report/report.js'

/** What the async error path needs of the request lifecycle. */
export interface AsyncFailureHost {
  record(req: Request, res: Response, err: unknown, attribution?: Attribution): unknown
  finalize(req: Request, res: Response): void
  /** Runs `work`; what it reports is on disk before this returns. */
  durably(work: () => void): void
}

/** The errors a request's code raised where Express does not look, handed to their request once each. */
export class AsyncFailures {
  readonly #host: AsyncFailureHost
  // errors already handed to a request: `--unhandled-rejections=strict` raises one error as both events
  readonly #handed = new WeakMap<object, Request>()

  constructor(host: AsyncFailureHost) {
    this.#host = host
  }

  /**
   * An error the request's code raised where Express does not look: a
   * rejection on Express 4, a promise floated without `await`, a throw in a
   * timer, a callback wrapped with `faultline.bind`. It is recorded as the
   * request's exception, then handed on with the request's `next(err)`, as
   * Express 5 does with a rejection: the app's error middleware and
   * `errorHandler()` answer it (their throw-errors and debug rules included),
   * or Express's final handler does. A response already complete is only
   * reported; one already closed gets a report of its own.
   *
   * This runs inside an `uncaughtException` or `unhandledRejection` emit, and
   * the app's own listener may end the process right after it: once the
   * response is answered, its report is built and written now, not when the
   * response closes.
   */
  fail(
    req: Request,
    res: Response,
    err: unknown,
    next: (err: unknown) => void,
    attribution: Attribution,
  ): void {
    if (this.#wasHanded(req, err)) return
    // next(null) would mean "carry on": Express 5 hands on this same stand-in for a falsy rejection
    const raised = err || new Error('Rejected promise')
    this.#host.durably(() => {
      const closed = isClosed(res, peekState(req))
      try {
        this.#host.record(req, res, raised, attribution)
      } finally {
        if (!closed && !res.writableEnded) next(raised)
        if (!closed && (res.writableEnded || res.destroyed)) this.#finalizeNow(req, res)
      }
    })
  }

  /**
   * Finalizes as the response's close would: through the first faultline
   * that watches it (an app's, when a sub-app has its own), which reports
   * what every instance recorded on the request.
   */
  #finalizeNow(req: Request, res: Response): void {
    const first = res.listeners('close').find((listener) => listener.name === 'onResponseClose')
    if (first) (first as (this: Response) => void).call(res)
    else this.#host.finalize(req, res)
  }

  /** Whether this error was handed to its request already (an error raised twice is one error). */
  #wasHanded(req: Request, err: unknown): boolean {
    if (peekState(req)?.exceptions.some((known) => known.error === err)) return true
    if (err === null || (typeof err !== 'object' && typeof err !== 'function')) return false
    // per request: one error object (a shared constant) may be raised by many requests
    if (this.#handed.get(err) === req) return true
    this.#handed.set(err, req)
    return false
  }
}
