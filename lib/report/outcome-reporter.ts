import type { Request, Response } from 'express'
import type { Logger } from 'winston'
import { classifyOutcome } from './classify.js'
import { getErrorStatus } from './error-status.js'
import { createIncidentId } from './incident-id.js'
import type { ResolvedOptions } from '../config/options.js'
import { buildRepeatReport, RepeatCache, repeatKeyOf } from './repeats.js'
import { buildReport, describeRequest, type Report, type ReportContext, type ReportInput } from './report.js'
import { scrubRecord } from '../scrub/scrub-report.js'
import { getLocus, peekState, type RecordedException, type RecordedMessage } from '../middleware/request-state.js'
import { getSuspicion, type SuspicionFound } from './suspicious.js'
import { WarningLimiter, type DroppedWarnings } from './warning-limiter.js'

/** What one outcome is made of, once the request's facts are gathered. */
export interface OutcomeParts {
  exception?: RecordedException
  messages: RecordedMessage[]
  suspicion?: SuspicionFound
  id?: string
}

/** Where the reporter's work goes. */
export interface OutcomeReporterOptions {
  context: ReportContext
  warningLimit: ResolvedOptions['warningLimit']
  logger: Logger
  /** Hands a finished report on: the `report` event, then the transports. */
  emit: (report: Report) => void
  isClosing: () => boolean
}

/**
 * Turns a request's facts into reports: classifies the outcome, holds back
 * what the warning limit says, records a storm's repeats compactly, and
 * builds the full report otherwise. Aborted requests go to the logger at info.
 */
export class OutcomeReporter {
  readonly #context: ReportContext
  readonly #limiter: WarningLimiter | undefined
  // in a storm, an outcome already reported in full this minute is recorded compactly
  readonly #repeats = new RepeatCache(60_000)

  constructor(private readonly options: OutcomeReporterOptions) {
    this.#context = options.context
    const limit = options.warningLimit
    this.#limiter = limit ? new WarningLimiter(limit.perClient, limit.windowMs, (dropped) => this.#reportDropped(dropped)) : undefined
  }

  /** Ends the warning limit's window: what it held back is summarised now. */
  flushLimiter(): void {
    this.#limiter?.flush()
  }

  /** Classifies one outcome of a request and reports it. */
  reportOutcome(req: Request, res: Response, parts: OutcomeParts): void {
    const { exception, messages } = parts
    const suspicion = (exception && getSuspicion(exception.error)) ?? parts.suspicion
    const kind = classifyOutcome({
      status: res.statusCode,
      finished: res.writableFinished,
      exception: exception && { status: getErrorStatus(exception.error), clientAbort: exception.clientAbort },
      loggedError: messages.some((m) => m.level === 'error'),
      loggedWarning: messages.some((m) => m.level === 'warn'),
      suspicious: suspicion !== undefined,
    })
    if (kind === undefined) return
    if (kind === 'aborted') return this.#logAborted(req, res, exception)
    if (kind === 'warning' && this.#limiter) {
      const family = suspicion?.category ?? (messages.length ? 'logged' : `status ${res.statusCode}`)
      if (!this.#limiter.allow(family, req.ip ?? req.socket?.remoteAddress ?? '?')) return
    }
    this.report({
      id: parts.id ?? createIncidentId(),
      kind,
      status: res.statusCode,
      error: exception?.error,
      hasError: exception !== undefined,
      locus: exception?.locus ?? messages.find((m) => m.level === 'error')?.locus,
      suspicious: suspicion?.reason,
      family: suspicion?.category,
      logs: messages,
      route: exception?.route ?? peekState(req)?.route,
      req,
    })
  }

  /** Builds and hands on a report: compact when it repeats one reported in full within the minute. */
  report(input: ReportInput): void {
    const req = input.req
    const key = req ? repeatKeyOf(input, req) : undefined
    if (key === undefined || !req) return this.options.emit(buildReport(this.#context, input))
    const now = Date.now()
    const first = this.#repeats.find(key, now)
    if (first) return this.options.emit(buildRepeatReport(this.#context, input, req, first))
    const report = buildReport(this.#context, input)
    this.#repeats.remember(key, report, now)
    this.options.emit(report)
  }

  /** The report an error would make now, for the debug page; the one that goes out is built when the response closes. */
  preview(req: Request, res: Response, err: unknown, id: string): Report {
    const state = peekState(req)
    const status = getErrorStatus(err)
    return buildReport(this.#context, {
      id,
      kind: status !== undefined && status < 500 ? 'warning' : 'traceback',
      status: res.statusCode,
      error: err,
      hasError: true,
      locus: getLocus(res, state),
      logs: state?.messages ?? [],
      route: state?.route,
      req,
    })
  }

  /** The report of an error that is taking the process down. */
  crashReport(error: unknown, origin: string): Report {
    const report = buildReport(this.#context, { id: createIncidentId(), kind: 'traceback', error, hasError: true, locus: 'process' })
    report.message = `${report.message} (${origin})`
    return report
  }

  #logAborted(req: Request, res: Response, exception: RecordedException | undefined): void {
    if (this.options.isClosing()) return
    const secrets = new Set<string>()
    const request = describeRequest(req, this.#context.scrubber, secrets, peekState(req)?.route)
    const record = scrubRecord({
      level: 'info',
      message: `request aborted by the client: ${request.method} ${request.url}`,
      event: 'aborted',
      status: res.statusCode,
      headersSent: res.headersSent,
      request,
      ...(exception ? { cause: { name: String((exception.error as Error)?.name), code: String((exception.error as { code?: string })?.code) } } : {}),
    }, this.#context.scrubber, secrets)
    this.options.logger.log(record as { level: string; message: string })
  }

  #reportDropped(dropped: DroppedWarnings): void {
    const listed = dropped.clients.slice(0, 5).map((c) => `${c.family} from ${c.client}: ${c.count}`).join('; ')
    const report = buildReport(this.#context, { id: createIncidentId(), kind: 'warning', hasError: false, family: 'rate-limit' })
    report.message = `${dropped.total} warnings held back by the rate limit (${listed})`
    report.dropped = dropped
    this.options.emit(report)
  }
}
