// Composition root, with lib/assemble.ts, lib/logger.ts and lib/index.ts: the only files in lib/
// that know the transports. The rest of the core knows a destination only through lib/contract/.
import { EventEmitter } from 'node:events'
import type { ErrorRequestHandler, Request, RequestHandler, Response, Router } from 'express'
import type { Logger } from 'winston'
import { assembleParts, openDashboard } from './assemble.js'
import { createErrorHandler, type ErrorHandlerOptions } from './middleware/error-handler.js'
import type { FaultlineOptions } from './logger.js'
import type { ResolvedOptions } from './config/options.js'
import type { Report } from './report/report.js'
import { isXhrRequest } from './report/request-info.js'
import { createRequestHandler } from './middleware/request-handler.js'
import { createNotFoundHandler, type NotFoundOptions } from './middleware/not-found.js'
import type { RequestLifecycle } from './middleware/lifecycle.js'
import type { OutcomeReporter } from './report/outcome-reporter.js'
import type { ReportDispatcher } from './report/dispatcher.js'
import type { ProcessGuards } from './middleware/process-guard.js'
import { closeTransports, reopenTransports } from './contract/shutdown.js'
import { settleWithin } from './contract/deadline.js'
import { SuspiciousRequest } from './report/suspicious.js'
import type { IssueDetail, IssueQuery, IssueSummary, Store, StoreStatus } from './store/types.js'
import type { DashboardOptions } from './dashboard/index.js'
import { bindToRequest } from './middleware/request-scope.js'
import { warnRenamedOnce } from './config/renames.js'
import { readStats, type FaultlineStats } from './contract/read-stats.js'

/**
 * Options of `close()`.
 *
 * @example
 * ```ts
 * await faultline.close({ timeoutMs: 2000 })
 * ```
 */
export interface CloseOptions {
  /** How long to wait for transports to flush, in milliseconds. Default 5000. */
  timeoutMs?: number
}

/**
 * One faultline instance: the middleware, the logger every report goes
 * through, and the `report` event. Made by `createFaultline`.
 *
 * @example
 * ```ts
 * const faultline: Faultline = createFaultline({ appName: 'shop' })
 * faultline.on('report', (report) => metrics.increment(`reports.${report.kind}`))
 * app.use(faultline.requestHandler())
 * // … routes …
 * app.use(faultline.errorHandler())
 * process.on('SIGTERM', () => server.close(() => faultline.close({ timeoutMs: 5000 })))
 * ```
 */
export class Faultline extends EventEmitter<{ report: [Report] }> {
  /**
   * The winston logger every report goes through: the app's own when given as
   * `logger`, else faultline's; add transports to it, pipe it or listen to its
   * `data` as to any winston logger, and every report reaches them, in order.
   */
  readonly logger: Logger
  // faultline's destinations (stderr, file, mail, syslog, tickets, `transports`): what stats() counts and close() closes
  readonly #destinations: Logger
  readonly #options: ResolvedOptions
  readonly #reporter: OutcomeReporter
  readonly #dispatcher: ReportDispatcher
  readonly #lifecycle: RequestLifecycle
  readonly #guards: ProcessGuards
  readonly #store: Store
  #closing: Promise<void> | undefined

  constructor(options?: FaultlineOptions) {
    super()
    const parts = assembleParts(options, {
      emit: (report) => this.emit('report', report),
      close: (closeOptions) => this.close(closeOptions),
      reopen: () => this.reopen(),
    })
    this.#options = parts.options
    this.#store = parts.store
    this.#destinations = parts.destinations
    this.logger = parts.logger
    this.#dispatcher = parts.dispatcher
    this.#reporter = parts.reporter
    this.#lifecycle = parts.lifecycle
    this.#guards = parts.guards
  }

  /**
   * Per transport, the counts it declares (`TransportStats`): units
   * delivered, queued in memory, waiting in the spool, retried, and dropped
   * (and said so); for syslog, also units resent and sessions dropped because
   * the receiver broke the protocol. A transport of the app's own is read when
   * its `stats()` answers that shape, and left out otherwise.
   *
   * @example
   * ```ts
   * app.get('/healthz', (req, res) => res.json(faultline.stats())) // { mail: { delivered: 12, queued: 0, … } }
   * ```
   */
  stats(): FaultlineStats {
    return readStats(this.#destinations.transports)
  }

  /**
   * Where the store stands: local or Redis, whether it is shared right now,
   * and how many calls were answered locally while Redis was away.
   *
   * @example
   * ```ts
   * app.get('/healthz', (req, res) => res.json({ store: faultline.storeStatus() }))
   * ```
   */
  storeStatus(): StoreStatus {
    return this.#store.status()
  }

  /**
   * The distinct errors the store counted (the whole fleet's, with Redis):
   * count, first and last seen, status, filtered and sorted.
   *
   * @example
   * ```ts
   * const { issues, total } = await faultline.issues({ kind: 'traceback', sort: 'count', limit: 10 })
   * ```
   */
  issues(query?: IssueQuery): Promise<{ issues: IssueSummary[]; total: number }> {
    return this.#store.issues(query)
  }

  /**
   * One distinct error by fingerprint: its counts, the latest full report and
   * the latest occurrences' incident ids.
   *
   * @example
   * ```ts
   * const issue = await faultline.issue(report.fingerprint)
   * console.log(issue?.count, issue?.occurrences.map((o) => o.id))
   * ```
   */
  issue(fingerprint: string): Promise<IssueDetail | undefined> {
    return this.#store.issue(fingerprint)
  }

  /**
   * The incident view: a router to mount behind the app's own authentication.
   * `authorize` is required; a request it refuses gets a plain 404 and a
   * warning, as does any request the view turns away (an unknown page or
   * action, a form without its CSRF token); a throwing `authorize` gets a 403
   * and a traceback once per cause. The view's own pages never become reports.
   *
   * @example
   * ```ts
   * app.use('/_faultline', faultline.dashboard({ authorize: (req) => req.user?.role === 'ops' }))
   * ```
   */
  dashboard(options: DashboardOptions): Router {
    return openDashboard(this.#store, this.#lifecycle, options, this.#options)
  }

  /** Whether debug mode is on. */
  get debug(): boolean {
    return this.#options.debug
  }

  /** Whether errors are handed on with `next(err)` instead of answered with a page. */
  get throwErrors(): boolean {
    return this.#options.throwErrors
  }

  /** The first middleware: watches every response and binds `req.log`. */
  requestHandler(): RequestHandler {
    return createRequestHandler(this.#lifecycle, this.#options.allowedHosts)
  }

  /** The last middleware: reports the error and answers with a safe error page (or the app's own, through `render`). */
  errorHandler(options?: ErrorHandlerOptions): ErrorRequestHandler {
    return createErrorHandler(this.#lifecycle, options)
  }

  /**
   * The catch-all after the app's routes: a 404 page like every other error
   * page (negotiated, with the incident id, the app's own through `render`),
   * reported as a warning. Put it after the routes, before `errorHandler()`.
   *
   * @example
   * ```ts
   * app.use('/api', api)
   * app.use(faultline.notFound())      // unmatched routes: 404 with an incident id, JSON for API clients
   * app.use(faultline.errorHandler())
   * ```
   */
  notFound(options?: NotFoundOptions): RequestHandler {
    return createNotFoundHandler(this.#lifecycle, options)
  }

  /** Middleware for XHR-only resources: any other request gets a 400 and a warning. */
  xhrOnly(): RequestHandler {
    return function faultlineXhrOnly(req, _res, next) {
      if (isXhrRequest(req.headers)) return next()
      next(
        new SuspiciousRequest('non-XHR request to an XHR-only resource', { category: 'xhr-only' }),
      )
    }
  }

  /**
   * Reports an error the app handled itself (its own error middleware, a
   * background job). With a request, the error joins that request's report;
   * returns the incident id to show the user.
   */
  capture(err: unknown, req?: Request): string {
    if (!req) return this.#lifecycle.capture(err)
    return this.#lifecycle.record(req, req.res as Response, err).id
  }

  /**
   * The incident id the request's report has, or will have: for an app's own
   * error page. Fixed on first call; also sent in the `X-Incident-Id` header
   * while headers can still change.
   */
  incidentId(req: Request): string {
    return this.#lifecycle.incidentId(req, req.res as Response)
  }

  /**
   * Ties a callback to the request whose handling creates it: wherever it is
   * called from, it runs in that request's context, and a synchronous throw in
   * it is that request's error (answered 500, reported with `attribution:
   * 'exact'`), not whichever request opened the connection calling it. For
   * the callbacks handed to a pool or client that shares one socket between
   * requests. Outside a request it returns the callback as it is. (Node's
   * `AsyncResource.bind` restores the context, but only while the callback
   * runs: by the time Node reports its throw, the context is the socket's.)
   *
   * @example
   * ```ts
   * app.get('/orders/:id', (req, res) => {
   *   pool.query('SELECT …', [req.params.id], faultline.bind((err, rows) => {
   *     if (err) throw err            // this request's 500, not another's
   *     res.json(rows)
   *   }))
   * })
   * ```
   */
  bind<A extends unknown[], R>(callback: (...args: A) => R): (...args: A) => R | undefined {
    return bindToRequest(callback)
  }

  /**
   * Reopens the files faultline writes (the `file` destination, and any
   * transport with a `reopen()` method), for an app that rotates its own
   * logs: lines from now on go to the file the path names now. `handleSignals`
   * does this on SIGHUP. A rotation by rename is also noticed on its own
   * within a second of writing.
   *
   * @example
   * ```ts
   * renameSync('var/log/errors.log', 'var/log/errors.log.1')
   * faultline.reopen() // later reports go to a new var/log/errors.log
   * ```
   */
  reopen(): void {
    reopenTransports(this.#destinations.transports)
  }

  /** Flushes every transport and releases every socket and timer; resolves within `timeoutMs`. */
  close(options: CloseOptions = {}): Promise<void> {
    // a shutdown must not fail on a renamed option: the old name is honoured and named once
    const legacy = (options as { timeout?: unknown }).timeout
    const timeoutMs = options.timeoutMs ?? (typeof legacy === 'number' ? legacy : 5000)
    if (legacy !== undefined) warnRenamedOnce('close.timeout', this.#options.notices)
    if (!this.#closing) {
      // held-back warnings are summarised while the transports still listen
      const decided = this.#reporter.flushLimiter()
      this.#dispatcher.close()
      this.#closing = this.#shutdown(timeoutMs, decided)
    }
    return this.#closing
  }

  async #shutdown(timeout: number, decided: Promise<void>): Promise<void> {
    this.#guards.remove()
    // the app's own logger stays the app's to close
    await closeTransports(this.#destinations, timeout, this.#options.notices)
    // after the transports: their last digests still ask the store what the fleet gathered
    await settleWithin(decided, timeout)
    await this.#store.close()
  }
}
