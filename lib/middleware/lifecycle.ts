import type { Request, Response } from 'express'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'
import type { Logger } from 'winston'
import { isClientAbort } from './client-abort.js'
import { AsyncFailures } from './async-failure.js'
import { createRequestLogBase, createRequestLogger, type RequestLogSink } from './request-log.js'
import { pathOf, readLocalsError } from './locals-error.js'
import { hookResponse, isWatchedBy, type ResponseWatcher } from './response-hooks.js'
import { findShownStack } from './stack-notice.js'
import {
  getLocus,
  getState,
  isClosed,
  peekState,
  type RecordedException,
  type RequestState,
} from './request-state.js'
import { INCIDENT_HEADER } from '../pages/error-page.js'
import { getErrorStatus } from '../report/error-status.js'
import { createIncidentId } from '../report/incident-id.js'
import type { OutcomeReporter } from '../report/outcome-reporter.js'
import type { Attribution, Report } from '../report/report.js'
import type { ReportContext } from '../report/build-report.js'
import { getRoute } from '../report/request-info.js'
import { createLogScrubber } from '../scrub/scrub-report.js'
import { detectProbe, type SuspicionFound } from '../report/suspicious.js'
import { captureTrace } from '../report/trace.js'
import { hasSpan } from '../report/span-errors.js'
import { SpanMarks } from './span-marks.js'

/** What the request lifecycle is built from. */
export interface LifecycleOptions {
  context: ReportContext
  reporter: OutcomeReporter
  /** The logger `req.log` is a child of. */
  logger: Logger
  debug: boolean
  throwErrors: boolean
  /** Where notices go: the `notices` option. */
  say?: NoticeChannel
}

/**
 * A request's life as faultline follows it: watched from the first
 * middleware, its exceptions and `req.log` lines recorded as they happen,
 * its outcome classified and reported when the response closes. The
 * middleware work through this; the app sees it only through `Faultline`.
 */
export class RequestLifecycle implements ResponseWatcher {
  readonly debug: boolean
  readonly throwErrors: boolean
  /** The app's directory: the only place the debug page shows source from. */
  readonly appRoot: string
  /** Where this faultline's notices go. */
  readonly say: NoticeChannel
  readonly #context: ReportContext
  readonly #reporter: OutcomeReporter
  // the prototype of every request's `req.log`
  readonly #logBase: Logger
  // one listener for every response, so watching a response adds no closure to it
  readonly #onClose: (this: Response) => void
  readonly #asyncFailures: AsyncFailures
  readonly #spans: SpanMarks
  // in production, until the app's own page is first seen showing a stack trace (said once, then no more looking)
  #watchingForStacks: boolean

  constructor(options: LifecycleOptions) {
    this.debug = options.debug
    this.throwErrors = options.throwErrors
    this.appRoot = options.context.appRoot
    this.say = options.say ?? stderrNotices
    this.#context = options.context
    this.#reporter = options.reporter
    this.#logBase = createRequestLogBase(options.logger, this.#logSink())
    this.#watchingForStacks = !options.debug
    this.#spans = new SpanMarks(options.reporter, (req, res) => this.incidentId(req, res))
    this.#asyncFailures = new AsyncFailures({
      record: (req, res, err, attribution) => this.record(req, res, err, attribution),
      finalize: (req, res) => this.finalize(req, res),
      durably: (work) => this.#reporter.durably(work),
    })
    // one listener for every response: the response is `this` when it closes, the lifecycle is bound
    const finalize = (res: Response) => this.finalize(res.req as Request, res)
    this.#onClose = function onResponseClose(this: Response) {
      finalize(this)
    }
  }

  /** Starts watching a response, once: its end is where the request's outcome is classified. */
  watch(res: Response): void {
    if (!this.isWatched(res)) return this.watchFirst(res)
    // the request's span, while it is still the active one: the report is built at close, maybe outside it
    captureTrace(res.req)
  }

  /** `watch` for the first middleware, which nothing else of faultline can have run before: no check needed. */
  watchFirst(res: Response): void {
    captureTrace(res.req)
    hookResponse(res, this)
    res.on('close', this.#onClose)
    // a 5xx no exception explains is known when its status goes out: the span is told then, while open
    this.#spans.watch(res)
  }

  /** Whether the response is watched already (its request went through `requestHandler()`). */
  isWatched(res: Response): boolean {
    return isWatchedBy(res, this)
  }

  /** Whether a 5xx body is kept for the stack-trace check: in production, until the app's page was seen showing one. */
  get samplesErrorBodies(): boolean {
    return this.#watchingForStacks
  }

  /** Reports an error on its own, outside any request; returns its incident id. */
  capture(err: unknown): string {
    const id = createIncidentId()
    this.#reporter.report({
      id,
      kind: (getErrorStatus(err) ?? 500) >= 500 ? 'traceback' : 'warning',
      error: err,
      hasError: true,
    })
    return id
  }

  /** Records an exception on its request; reports it at once if the request's outcome was already reported. */
  record(
    req: Request,
    res: Response,
    err: unknown,
    attribution?: Attribution,
  ): { id: string; clientAbort: boolean } {
    this.watch(res)
    const state = getState(req)
    const exception: RecordedException = {
      error: err,
      locus: getLocus(res, state),
      clientAbort: isClientAbort(err, req),
      route: getRoute(req),
    }
    if (attribution) exception.attribution = attribution
    state.route ??= exception.route
    if (isClosed(res, state)) {
      const id = createIncidentId()
      this.#reporter.reportOutcome(req, res, { exception, messages: [], id })
      return { id, clientAbort: exception.clientAbort }
    }
    const first = state.exceptions.length === 0
    if (!state.exceptions.some((known) => known.error === err)) state.exceptions.push(exception)
    if (!exception.clientAbort) state.id ??= createIncidentId()
    // the request's traceback, told to its span while the span is open; a 4xx is a warning and leaves it alone
    const status = getErrorStatus(err) ?? 500
    if (first && state.id && !exception.clientAbort && status >= 500 && hasSpan(req))
      this.#spans.mark(req, res, state.id, status, { value: err })
    return { id: state.id ?? createIncidentId(), clientAbort: exception.clientAbort }
  }

  /** An error the request's code raised where Express does not look: see `AsyncFailures.fail`. */
  failAsync(
    req: Request,
    res: Response,
    err: unknown,
    next: (err: unknown) => void,
    attribution: Attribution = 'async-context',
  ): void {
    this.#asyncFailures.fail(req, res, err, next, attribution)
  }

  /** The report an error makes, for the debug page; it is the one that goes out at close, unless the outcome changes meanwhile. */
  previewReport(req: Request, res: Response, err: unknown, id: string): Report {
    return this.#reporter.preview(req, res, err, id)
  }

  /** The incident id of the request's report, fixed on first call and sent as `X-Incident-Id` while headers can change. */
  incidentId(req: Request, res: Response, state: RequestState = getState(req)): string {
    if (!state.id) {
      state.id = createIncidentId()
      this.watch(res)
      if (!res.headersSent) res.setHeader(INCIDENT_HEADER, state.id)
    }
    return state.id
  }

  /** Marks a request suspicious before any error is raised, so the warning carries the reason whoever renders the 400. */
  markSuspicious(req: Request, suspicion: SuspicionFound): void {
    getState(req).suspicion ??= suspicion
  }

  /** `req.log` for a request: created on first use, and only then. */
  requestLogger(req: Request): Logger {
    const state = getState(req)
    state.log ??= createRequestLogger(this.#logBase, req)
    return state.log
  }

  /** What `req.log` hands on: the request's fields and scrubber for the lines that go through, the errors and warnings it holds. */
  #logSink(): RequestLogSink<Request> {
    const scrubber = this.#context.scrubber
    return {
      describe: (req) => ({
        method: req.method,
        url: scrubber.url(req.originalUrl ?? req.url, new Set()),
      }),
      scrubberFor: (req) => createLogScrubber(scrubber, req),
      hold: (req, message) => {
        const res = req.res as Response
        const state = getState(req)
        message.locus = getLocus(res, state)
        if (!isClosed(res, state)) {
          state.route ??= getRoute(req)
          // a hand-written error gets its incident id now, so the app's own page can show it
          if (state.messages.length < 50) state.messages.push(message)
          if (message.level === 'error') this.#loggedError(req, res, state)
          return
        }
        this.#reporter.reportOutcome(req, res, { messages: [message], id: createIncidentId() })
      },
    }
  }

  /** Says once, as a notice, that the app's own 5xx page showed the stack of the error faultline was given. */
  #checkShownStack(req: Request, res: Response, state: RequestState): void {
    // a hand-written 5xx has no stack a page could show
    if (state.exceptions.length === 0) return
    const errors = state.exceptions.map((exception) => exception.error)
    const where = {
      method: req.method,
      path: state.route ?? getRoute(req) ?? pathOf(req),
      id: state.id,
    }
    const notice = findShownStack(res, errors, where)
    if (notice === undefined) return
    this.#watchingForStacks = false
    this.say(noticeOf('FAULTLINE_PAGE_SHOWS_STACK', notice))
  }

  /** A hand-written error: its incident id now, and its span told while open, unless an exception told it. */
  #loggedError(req: Request, res: Response, state: RequestState): void {
    const id = this.incidentId(req, res, state)
    if (!hasSpan(req) || state.exceptions.some((known) => !known.clientAbort)) return
    this.#spans.mark(req, res, id, res.statusCode)
  }

  /** Classifies and reports a request's outcome when its response closes. */
  finalize(req: Request, res: Response): void {
    try {
      let state: RequestState | undefined = peekState(req)
      if (state?.finalized || state?.quiet) return
      const localError = readLocalsError(res)
      if (!state && localError === undefined && res.statusCode < 400 && res.writableFinished) {
        // the happy path: only the probe detector runs
        const probe = detectProbe(req.originalUrl ?? req.url)
        if (probe === undefined) return
        this.markSuspicious(req, { reason: probe, category: 'probe-path' })
      }
      state = getState(req)
      state.finalized = true
      if (
        localError !== undefined &&
        !state.exceptions.some((known) => known.error === localError)
      ) {
        state.exceptions.push({ error: localError, locus: 'before-headers', clientAbort: false })
      }
      if (!state.suspicion) {
        const probe = detectProbe(req.originalUrl ?? req.url)
        if (probe) state.suspicion = { reason: probe, category: 'probe-path' }
      }
      const [first, ...others] = state.exceptions
      this.#reporter.reportOutcome(req, res, {
        exception: first,
        messages: state.messages,
        suspicion: state.suspicion,
        id: state.id,
      })
      for (const exception of others)
        this.#reporter.reportOutcome(req, res, { exception, messages: [] })
      if (this.#watchingForStacks && res.statusCode >= 500) this.#checkShownStack(req, res, state)
    } catch (err) {
      this.say(
        noticeOf(
          'FAULTLINE_REPORT_FAILED',
          `could not report a request's outcome: ${err instanceof Error ? err.stack : String(err)}`,
        ),
      )
    }
  }
}
