/**
 * Telling a request's OpenTelemetry span about its error while the span is
 * still open. The HTTP instrumentation ends the span when the response
 * finishes, before faultline builds the report at close, so the span is told
 * early, with a draft of the report the error is expected to make. This is
 * best effort on the side of the request's life (lifecycle.ts), kept apart so
 * that nothing about spans can stand in the way of the report and the page.
 */
import type { Request, Response } from 'express'
import type { OutcomeReporter } from '../report/outcome-reporter.js'
import { hasSpan, markSpanError, onStatusWritten } from '../report/span-errors.js'
import { peekState } from './request-state.js'

/** Marks spans with the reports their requests' errors are expected to make. */
export class SpanMarks {
  readonly #reporter: Pick<OutcomeReporter, 'draft'>
  readonly #incidentId: (req: Request, res: Response) => string

  constructor(
    reporter: Pick<OutcomeReporter, 'draft'>,
    incidentId: (req: Request, res: Response) => string,
  ) {
    this.#reporter = reporter
    this.#incidentId = incidentId
  }

  /** Watches the status of a response whose request has a span: a 5xx no exception explains is marked when it goes out. */
  watch(res: Response): void {
    if (hasSpan(res.req)) onStatusWritten(res, (status) => this.#markHandWritten(res, status))
  }

  #markHandWritten(res: Response, status: unknown): void {
    try {
      const req = res.req as Request
      const state = peekState(req)
      if (typeof status !== 'number' || status < 500 || state?.quiet) return
      // an exception explains it: its traceback told the span when it was caught
      if (state?.exceptions.some((known) => !known.clientAbort)) return
      this.mark(req, res, this.#incidentId(req, res), status)
    } catch {
      // telling the span is best effort: the response goes out whatever happens here
    }
  }

  /** Tells the request's span about its error now, with the report it is expected to make. */
  mark(req: Request, res: Response, id: string, status: number, error?: { value: unknown }) {
    try {
      markSpanError(req, this.#reporter.draft(req, res, id, status, error))
    } catch {
      // telling the span is best effort: the report and the page come first
    }
  }
}
