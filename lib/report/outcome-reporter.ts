import type { Request, Response } from 'express'
import type { NoticeChannel } from '../notices.js'
import { classifyOutcome } from './classify.js'
import { getErrorStatus } from './error-status.js'
import { createIncidentId } from './incident-id.js'
import type { ResolvedOptions } from '../config/options.js'
import { buildRepeatReport, RepeatCache, repeatKeyOf } from './repeats.js'
import type { ReportDispatcher } from './dispatcher.js'
import type { Report } from './report.js'
import { buildReport, type ReportContext, type ReportInput } from './build-report.js'
import { describeRequest } from './request-info.js'
import { scrubRecord } from '../scrub/scrub-report.js'
import {
  getLocus,
  getState,
  peekState,
  type RecordedException,
  type RecordedMessage,
} from '../middleware/request-state.js'
import { getSuspicion, pickSuspicion, type SuspicionFound } from './suspicious.js'
import { summarizeDropped, WarningGate } from './warning-gate.js'
import type { FleetCoordination } from '../store/types.js'

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
  /** Where every report and record leaves. */
  dispatcher: ReportDispatcher
  /** The fleet's shared store: with it, each client's warning budget counts across the fleet. */
  coordination?: FleetCoordination
  /** Where notices go: the `notices` option. */
  say?: NoticeChannel
}

/**
 * Turns a request's facts into reports: classifies the outcome, holds back
 * what the warning limit says, records a storm's repeats compactly, and
 * builds the full report otherwise. Aborted requests are recorded at info.
 * Everything leaves through the dispatcher.
 */
export class OutcomeReporter {
  readonly #context: ReportContext
  readonly #warnings: WarningGate | undefined
  // in a storm, an outcome already reported in full this minute is recorded compactly
  readonly #repeats = new RepeatCache(60_000)
  readonly #dispatcher: ReportDispatcher

  constructor(options: OutcomeReporterOptions) {
    this.#context = options.context
    this.#dispatcher = options.dispatcher
    const limit = options.warningLimit
    this.#warnings = limit
      ? new WarningGate(
          limit,
          (dropped) => this.#dispatcher.report(summarizeDropped(this.#context, dropped)),
          options.coordination,
          options.say,
        )
      : undefined
  }

  /**
   * Ends the warning limit's window: what it held back is summarised now.
   * Resolves once the fleet's decisions still waiting on the store are in
   * (they are summarised too): the store must stay open until then.
   */
  flushLimiter(): Promise<void> {
    return this.#warnings?.flush() ?? Promise.resolve()
  }

  /** Classifies one outcome of a request and reports it. */
  reportOutcome(req: Request, res: Response, parts: OutcomeParts): void {
    const { exception, messages } = parts
    const suspicion = pickSuspicion(exception && getSuspicion(exception.error), parts.suspicion)
    const kind = classifyOutcome({
      status: res.statusCode,
      finished: res.writableFinished,
      exception: exception && {
        status: getErrorStatus(exception.error),
        clientAbort: exception.clientAbort,
      },
      loggedError: messages.some((m) => m.level === 'error'),
      loggedWarning: messages.some((m) => m.level === 'warn'),
      suspicious: suspicion !== undefined,
    })
    if (kind === undefined) return
    if (kind === 'aborted') return this.#logAborted(req, res, exception)
    if (kind === 'warning' && this.#warnings) {
      const family =
        suspicion?.category ?? (messages.length ? 'logged' : `status ${res.statusCode}`)
      // decided later through the store: the id and status are the ones of now
      const later = this.#warnings.defers ? { ...parts, id: parts.id ?? createIncidentId() } : parts
      const status = res.statusCode
      return this.#warnings.pass(req, family, () =>
        this.#reportParts(req, later, kind, status, suspicion),
      )
    }
    this.#reportParts(req, parts, kind, res.statusCode, suspicion)
  }

  /** Reports an outcome once it is classified (and, for a warning, allowed by the limit). */
  #reportParts(
    req: Request,
    parts: OutcomeParts,
    kind: Report['kind'],
    status: number,
    suspicion: SuspicionFound | undefined,
  ): void {
    const { exception, messages } = parts
    this.report({
      id: parts.id ?? createIncidentId(),
      kind,
      status,
      error: exception?.error,
      hasError: exception !== undefined,
      locus: exception?.locus ?? messages.find((m) => m.level === 'error')?.locus,
      attribution: exception?.attribution,
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
    if (key === undefined || !req) return this.#dispatcher.report(this.#build(input))
    const now = Date.now()
    const first = this.#repeats.find(key, now)
    if (first) return this.#dispatcher.report(buildRepeatReport(this.#context, input, req, first))
    const report = this.#build(input)
    this.#repeats.remember(key, report, now)
    this.#dispatcher.report(report)
  }

  /** The full report: the one the debug page showed, when nothing changed since; otherwise built now. */
  #build(input: ReportInput): Report {
    const preview = input.req ? peekState(input.req)?.preview : undefined
    if (preview && matchesPreview(preview.report, preview.error, input)) return preview.report
    return buildReport(this.#context, input)
  }

  /** The report an error would make now, for the debug page; the one that goes out is built when the response closes. */
  preview(req: Request, res: Response, err: unknown, id: string): Report {
    const state = getState(req)
    // notFound() previews a 404 that no error caused: the warning its status makes
    const hasError = err !== undefined
    const status = hasError ? getErrorStatus(err) : res.statusCode
    const report = buildReport(this.#context, {
      id,
      kind: status !== undefined && status < 500 ? 'warning' : 'traceback',
      status: res.statusCode,
      error: err,
      hasError,
      locus: getLocus(res, state),
      logs: state.messages,
      route: state.route,
      req,
    })
    // kept, so the report that goes out at close is this one, not a second build of it
    state.preview = { error: err, report }
    return report
  }

  /**
   * The report a request's error is expected to make, built while its span is
   * still open (the HTTP instrumentation ends it when the response finishes,
   * before the report is built at close); not kept, not sent.
   */
  draft(
    req: Request,
    res: Response,
    id: string,
    status: number,
    error?: { value: unknown },
  ): Report {
    const state = getState(req)
    return buildReport(this.#context, {
      id,
      kind: error ? 'traceback' : 'error',
      status,
      error: error?.value,
      hasError: error !== undefined,
      locus: getLocus(res, state),
      logs: state.messages,
      route: state.route,
      req,
    })
  }

  /** Runs `work`; every report it dispatches is on disk before this returns (see `ReportDispatcher.durably`). */
  durably(work: () => void): void {
    this.#dispatcher.durably(work)
  }

  /** The report of an error that is taking the process down. */
  crashReport(error: unknown, origin: string): Report {
    const report = buildReport(this.#context, {
      id: createIncidentId(),
      kind: 'traceback',
      error,
      hasError: true,
      locus: 'process',
    })
    report.message = `${report.message} (${origin})`
    return report
  }

  #logAborted(req: Request, res: Response, exception: RecordedException | undefined): void {
    const secrets = new Set<string>()
    const request = describeRequest(req, this.#context.scrubber, secrets, peekState(req)?.route)
    const record = scrubRecord(
      {
        level: 'info',
        message: `request aborted by the client: ${request.method} ${request.url}`,
        event: 'aborted',
        status: res.statusCode,
        headersSent: res.headersSent,
        request,
        ...(exception
          ? {
              cause: {
                name: String((exception.error as Error)?.name),
                code: String((exception.error as { code?: string })?.code),
              },
            }
          : {}),
      },
      this.#context.scrubber,
      secrets,
    )
    this.#dispatcher.record(record as { level: string; message: string })
  }
}

/** Whether the debug page's report says what a report built now would: same error, id, kind, status, locus, logs and suspicion. */
function matchesPreview(report: Report, error: unknown, input: ReportInput): boolean {
  return (
    input.hasError &&
    input.error === error &&
    input.id === report.id &&
    input.kind === report.kind &&
    input.status === report.status &&
    input.locus === report.locus &&
    input.suspicious === report.suspicious &&
    (input.logs?.length ?? 0) === (report.logs?.length ?? 0)
  )
}
