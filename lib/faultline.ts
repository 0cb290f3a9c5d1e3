import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express'
import type { Logger } from 'winston'
import { isClientAbort } from './middleware/client-abort.js'
import { createErrorHandler, type ErrorHandlerOptions } from './middleware/error-handler.js'
import { INCIDENT_HEADER } from './pages/error-page.js'
import { getErrorStatus } from './report/error-status.js'
import { formatLine } from './report/format-line.js'
import { createIncidentId } from './report/incident-id.js'
import { createReportLogger } from './logger.js'
import type { FaultlineOptions, ResolvedOptions } from './config/options.js'
import { getRoute, isXhrRequest, type Report, type ReportContext } from './report/report.js'
import { createRequestHandler } from './middleware/request-handler.js'
import { createRequestLogger } from './middleware/request-log.js'
import { getLocus, getState, isClosed, peekState, type RecordedException, type RequestState } from './middleware/request-state.js'
import { resolveOptions } from './config/resolve-options.js'
import { OutcomeReporter } from './report/outcome-reporter.js'
import { installProcessGuards, type ProcessGuards } from './middleware/process-guard.js'
import { compileScrubber } from './scrub/scrub.js'
import { closeTransports } from './delivery/shutdown.js'
import { createLogScrubber } from './scrub/scrub-report.js'
import { detectProbe, SuspiciousRequest, type SuspicionFound } from './report/suspicious.js'

/** Options of `close()`. */
export interface CloseOptions {
  /** How long to wait for transports to flush, in milliseconds. Default 5000. */
  timeout?: number
}

function warnDebugInProduction(): void {
  const bar = '!'.repeat(78)
  process.stderr.write(
    `${bar}\nfaultline: DEBUG MODE IS ON WHILE NODE_ENV=production.\n` +
      'Error pages will show stack traces, source code and request data to anyone who triggers an error.\n' +
      'Turn it off: remove `debug: true` (or FAULTLINE_DEBUG) from this deployment.\n' +
      `${bar}\n`,
  )
}

function readLocalsError(res: Response): unknown {
  const locals = res.locals as Record<string, unknown> | undefined
  return locals ? locals.error : undefined
}

/**
 * One faultline instance: the middleware, the logger every report goes
 * through, and the `report` event. Made by `createFaultline`.
 */
export class Faultline extends EventEmitter<{ report: [Report] }> {
  /** The winston logger every report goes through; add transports to it as to any winston logger. */
  readonly logger: Logger
  readonly #options: ResolvedOptions
  readonly #context: ReportContext
  readonly #reporter: OutcomeReporter
  // one listener for every response of this instance, so watching a response writes nothing onto it
  readonly #onClose: (this: Response) => void
  readonly #guards: ProcessGuards
  #closing: Promise<void> | undefined

  constructor(options?: FaultlineOptions) {
    super()
    const self = this
    this.#onClose = function onResponseClose(this: Response) {
      self.finalize(this.req as Request, this)
    }
    this.#options = resolveOptions(options, process.env)
    this.#context = {
      app: this.#options.appName,
      host: hostname(),
      pid: process.pid,
      appRoot: this.#options.appRoot,
      scrubber: compileScrubber(this.#options.scrub),
    }
    this.logger = createReportLogger(this.#options)
    this.#reporter = new OutcomeReporter({
      context: this.#context,
      warningLimit: this.#options.warningLimit,
      logger: this.logger,
      emit: (report) => this.#emitReport(report),
      isClosing: () => this.#closing !== undefined,
    })
    if (this.#options.debug && this.#options.nodeEnv === 'production') warnDebugInProduction()
    // debug mode and throw-errors leave crashes to Node, the test runner and the debugger
    const stepAside = this.#options.debug || this.#options.throwErrors
    this.#guards = installProcessGuards(this, { errors: this.#options.handleProcessErrors && !stepAside, signals: this.#options.handleSignals, closeTimeoutMs: 5000 })
  }

  /**
   * Per transport: how many units were delivered, are queued in memory, wait
   * in the spool, were retried, or were dropped (and said so).
   */
  stats(): Record<string, { delivered?: number; queued: number; spooled: number; retried: number; dropped: number; resent?: number }> {
    const out: ReturnType<Faultline['stats']> = {}
    for (const transport of this.logger.transports) {
      const stats = (transport as { stats?: () => Record<string, number> }).stats?.()
      if (!stats) continue
      const name = transport.constructor.name.replace(/Transport$/, '').toLowerCase()
      out[name] = {
        delivered: stats.delivered ?? (stats.created ?? 0) + (stats.comments ?? 0) + (stats.reopened ?? 0),
        queued: stats.queued ?? stats.pending ?? 0,
        spooled: stats.spooled ?? 0,
        retried: stats.retried ?? stats.failures ?? 0,
        dropped: stats.dropped ?? 0,
        ...(stats.resent !== undefined ? { resent: stats.resent } : {}),
      }
    }
    return out
  }

  /**
   * The crash path: a traceback report of an error that is taking the process
   * down, written synchronously to every transport that can (file, stderr,
   * and the spools of mail, syslog and tickets), before the process exits.
   */
  reportCrash(error: unknown, origin: string): string {
    const report = this.#reporter.crashReport(error, origin)
    try {
      this.emit('report', report)
    } catch {
      // a listener's failure must not cost the crash report
    }
    for (const transport of this.logger.transports) {
      try {
        ;(transport as { logSync?: (info: Record<string, unknown>) => void }).logSync?.({ ...report })
      } catch (err) {
        process.stderr.write(`faultline: could not write the crash report through ${transport.constructor.name}: ${String(err)}\n`)
      }
    }
    return report.id
  }

  /** Whether debug mode is on. */
  get debug(): boolean {
    return this.#options.debug
  }

  /** The app's directory: the only place the debug page and mails show source from. */
  get appRoot(): string {
    return this.#options.appRoot
  }

  /** Whether errors are handed on with `next(err)` instead of answered with a page. */
  get throwErrors(): boolean {
    return this.#options.throwErrors
  }

  /** The first middleware: watches every response and binds `req.log`. */
  requestHandler(): RequestHandler {
    return createRequestHandler(this, this.#options.allowedHosts)
  }

  /** The last middleware: reports the error and answers with a safe error page (or the app's own, through `render`). */
  errorHandler(options?: ErrorHandlerOptions): ErrorRequestHandler {
    return createErrorHandler(this, options)
  }

  /** Middleware for XHR-only resources: any other request gets a 400 and a warning. */
  xhrOnly(): RequestHandler {
    return function faultlineXhrOnly(req, _res, next) {
      if (isXhrRequest(req.headers)) return next()
      next(new SuspiciousRequest('non-XHR request to an XHR-only resource', { category: 'xhr-only' }))
    }
  }

  /**
   * Reports an error the app handled itself (its own error middleware, a
   * background job). With a request, the error joins that request's report;
   * returns the incident id to show the user.
   */
  capture(err: unknown, req?: Request): string {
    if (!req) {
      const id = createIncidentId()
      this.#reporter.report({ id, kind: (getErrorStatus(err) ?? 500) >= 500 ? 'traceback' : 'warning', error: err, hasError: true })
      return id
    }
    return this.record(req, req.res as Response, err).id
  }

  /** Starts watching a response, once: its end is where the request's outcome is classified. */
  watch(req: Request, res: Response): void {
    if (!this.isWatched(res)) res.on('close', this.#onClose)
  }

  /** `watch` for the first middleware, which no other part of faultline can have run before: no check needed. */
  watchFirst(res: Response): void {
    res.on('close', this.#onClose)
  }

  /** Whether faultline already watches this response (its request went through `requestHandler()`). */
  isWatched(res: Response): boolean {
    return res.listeners('close').includes(this.#onClose)
  }

  /** The report an error would make now, for the debug page; the report that goes out is built when the response closes. */
  previewReport(req: Request, res: Response, err: unknown, id: string): Report {
    return this.#reporter.preview(req, res, err, id)
  }


  /** Records an exception on its request; reports it at once if the request's outcome was already reported. */
  record(req: Request, res: Response, err: unknown): { id: string; clientAbort: boolean } {
    this.watch(req, res)
    const state = getState(req)
    const exception: RecordedException = { error: err, locus: getLocus(res, state), clientAbort: isClientAbort(err, req), route: getRoute(req) }
    state.route ??= exception.route
    if (isClosed(res, state)) {
      const id = createIncidentId()
      this.#reporter.reportOutcome(req, res, { exception, messages: [], id })
      return { id, clientAbort: exception.clientAbort }
    }
    if (!state.exceptions.some((known) => known.error === err)) state.exceptions.push(exception)
    if (!exception.clientAbort) state.id ??= createIncidentId()
    return { id: state.id ?? createIncidentId(), clientAbort: exception.clientAbort }
  }

  /**
   * The incident id the request's report has, or will have: for an app's own
   * error page. Fixed on first call; also sent in the `X-Incident-Id` header
   * while headers can still change.
   */
  incidentId(req: Request): string {
    return this.#fixIncidentId(req, req.res as Response, getState(req))
  }

  #fixIncidentId(req: Request, res: Response, state: RequestState): string {
    if (!state.id) {
      state.id = createIncidentId()
      this.watch(req, res)
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
    state.log ??= createRequestLogger(this.logger, { method: req.method, url: this.#context.scrubber.url(req.originalUrl ?? req.url, new Set()) }, (message) => {
      const res = req.res as Response
      message.locus = getLocus(res, state)
      if (!isClosed(res, state)) {
        state.route ??= getRoute(req)
        // a hand-written error gets its incident id now, so the app's own page can show it
        if (message.level === 'error') this.#fixIncidentId(req, res, state)
        if (state.messages.length < 50) state.messages.push(message)
        return
      }
      this.#reporter.reportOutcome(req, req.res as Response, { messages: [message], id: createIncidentId() })
    }, createLogScrubber(this.#context.scrubber, req))
    return state.log
  }

  /** Classifies and reports a request's outcome when its response closes. */
  finalize(req: Request, res: Response): void {
    try {
      let state: RequestState | undefined = peekState(req)
      if (state?.finalized) return
      const localError = readLocalsError(res)
      if (!state && localError === undefined && res.statusCode < 400 && res.writableFinished) {
        // the happy path: only the probe detector runs
        const probe = detectProbe(req.originalUrl ?? req.url)
        if (probe === undefined) return
        this.markSuspicious(req, { reason: probe, category: 'probe-path' })
      }
      state = getState(req)
      state.finalized = true
      if (localError !== undefined && !state.exceptions.some((known) => known.error === localError)) {
        state.exceptions.push({ error: localError, locus: 'before-headers', clientAbort: false })
      }
      if (!state.suspicion) {
        const probe = detectProbe(req.originalUrl ?? req.url)
        if (probe) state.suspicion = { reason: probe, category: 'probe-path' }
      }
      const [first, ...others] = state.exceptions
      this.#reporter.reportOutcome(req, res, { exception: first, messages: state.messages, suspicion: state.suspicion, id: state.id })
      for (const exception of others) this.#reporter.reportOutcome(req, res, { exception, messages: [] })
    } catch (err) {
      process.stderr.write(`faultline: could not report a request's outcome: ${err instanceof Error ? err.stack : String(err)}\n`)
    }
  }

  #emitReport(report: Report): void {
    try {
      this.emit('report', report)
    } catch (err) {
      process.stderr.write(`faultline: a 'report' listener threw: ${err instanceof Error ? err.message : String(err)}\n`)
    }
    if (this.#closing) {
      // the transports are gone; stderr is the last place a late report can go
      process.stderr.write(formatLine(report as unknown as Record<string, unknown>))
      return
    }
    this.logger.log({ ...report })
  }

  /** Flushes every transport and releases every socket and timer; resolves within `timeout`. */
  close(options: CloseOptions = {}): Promise<void> {
    if (!this.#closing) {
      // held-back warnings are summarised while the transports still listen
      this.#reporter.flushLimiter()
      this.#closing = this.#shutdown(options.timeout ?? 5000)
    }
    return this.#closing
  }

  async #shutdown(timeout: number): Promise<void> {
    this.#guards.remove()
    await closeTransports(this.logger, timeout)
  }
}
