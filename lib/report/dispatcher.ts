import { LEVEL } from 'triple-beam'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'
import type { LogEntry, Logger } from 'winston'
import type TransportStream from 'winston-transport'
import { DELIVERED, ownTransportsOf } from '../logger.js'
import type { AppLogger } from '../config/logger-option.js'
import { formatLine } from './format-line.js'
import { toLogRecord, type Report } from './report.js'
import { admits, isRead, pipedStreams, readers } from './logger-readers.js'

/** A record that is not a report: an aborted request, logged at `info`. */
export interface EventRecord {
  level: string
  message: string
  [field: string]: unknown
}

type SyncTransport = TransportStream & {
  logSync?: (info: Record<string | symbol, unknown>) => void
  flushSync?: () => void
}

type LogRecord = Record<string | symbol, unknown> & { level: string; message: string }

function describeFailure(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function ignore(): void {}

/**
 * The one way out for everything faultline reports. A report goes to the
 * `report` event, then to the logger and its transports (and through the
 * app's own logger, when there is one); an aborted request's record goes to
 * the loggers only; a crash report to every transport at once, synchronously;
 * and once `close()` began, a late report goes to stderr, the last place left.
 */
export class ReportDispatcher {
  readonly #logger: Logger
  readonly #own: WeakSet<object>
  readonly #announce: (report: Report) => void
  readonly #app: AppLogger | undefined
  #closing = false
  // the reports `durably` is gathering now, and those promised this tick that only a spool can keep
  #gathering: Report[] | undefined
  readonly #say: NoticeChannel
  #promised: Report[] = []
  readonly #keepPromised = () => this.#spoolPromised()

  /** `announce` hands a report to the `report` event's listeners; `app` is the app's own logger, if given. */
  constructor(
    logger: Logger,
    announce: (report: Report) => void,
    app?: AppLogger,
    say: NoticeChannel = stderrNotices,
  ) {
    this.#say = say
    this.#logger = logger
    this.#own = ownTransportsOf(logger)
    this.#announce = announce
    this.#app = app
  }

  /** Whether `close()` began: the transports take nothing more. */
  get closing(): boolean {
    return this.#closing
  }

  /** From now on the transports are closing; late reports go to stderr. */
  close(): void {
    this.#closing = true
  }

  /** A report: the `report` event first, then the transports (or stderr, after close). */
  report(report: Report): void {
    this.#gathering?.push(report)
    this.#tell(report)
    if (this.#closing) {
      process.stderr.write(formatLine(toLogRecord(report)))
      return
    }
    this.#deliver(toLogRecord(report))
  }

  /** A record that is not a report (an aborted request): the transports only, and only while they are open. */
  record(record: EventRecord): void {
    if (!this.#closing) this.#deliver(record as LogRecord)
  }

  /**
   * Every record goes through the logger as a winston record, as the README
   * promises, but only where something can see it: faultline's own
   * transports get it from here, in order, through their `log`, sparing a
   * storm winston's stream plumbing (a Transform, then a pipe per transport,
   * and a copy of the record); the record is written into the logger itself
   * whenever anything else reads it: a transport the app added or piped, a
   * `data` or `readable` listener. Those see every record, in order, with the
   * logger's format applied; faultline's own transports skip that copy.
   */
  #deliver(record: LogRecord): void {
    // the app's logger gets its own copy, before faultline's defaultMeta and transports touch the record
    const forApp = this.#app ? { ...record } : undefined
    this.#deliverOwn(record)
    if (forApp) this.#logThroughApp(forApp)
  }

  #deliverOwn(record: LogRecord): void {
    const logger = this.#logger
    if (logger.silent) return
    if (logger.defaultMeta) Object.assign(record, logger.defaultMeta)
    // no level symbol on what faultline's transports get: a symbol key sends JSON.stringify down its slow path
    let foreign = false
    for (const transport of logger.transports) {
      if (!this.#own.has(transport)) foreign = true
      else if (!transport.silent && admits(transport, logger, record.level))
        this.#handTo(transport, record)
    }
    if (foreign || isRead(logger))
      logger.log({ ...record, [LEVEL]: record.level, [DELIVERED]: true } as LogEntry)
  }

  /** Through the app's logger as any of its records: its defaultMeta, format, levels and transports, in order. */
  #logThroughApp(record: LogRecord): void {
    const { logger, levels } = this.#app!
    record.level = levels[record.level] ?? record.level
    try {
      logger.log(record as LogEntry)
    } catch (err) {
      // an app's format that throws must not cost faultline's own transports, nor the request
      this.#say(
        noticeOf('FAULTLINE_LOGGER_THREW', `the app's logger threw: ${describeFailure(err)}`),
      )
    }
  }

  #handTo(transport: TransportStream, record: LogRecord): void {
    try {
      transport.log!(record, ignore)
    } catch (err) {
      // as through winston: the logger's 'error' listener names the transport once
      transport.emit('error', err)
    }
  }

  /**
   * The crash path: the process is about to exit, so nothing asynchronous
   * will run. A transport with `logSync` (file, stderr, and the spools of
   * mail, syslog and tickets) writes the report now; any other, such as an
   * app's own, gets it through `log` at once, bypassing winston's streams.
   */
  crash(report: Report): void {
    this.#tell(report)
    this.#crashTo(this.#logger, report, report.level)
    const app = this.#app
    if (app && !app.logger.silent) this.#crashTo(app.logger, report, app.levels[report.level]!)
  }

  #crashTo(logger: Logger, report: Report, level: string): void {
    // a stream reader would get the record on a later tick, which a dying process does not have;
    // the transports, piped or not, get it below, once
    if (isRead(logger)) this.#readNow(logger, this.#formatted(logger, report, level))
    for (const transport of logger.transports as SyncTransport[]) {
      try {
        if (transport.silent) continue
        // each transport gets its own copy; logSync takes the plain report, as it always has
        if (transport.logSync && logger === this.#logger) transport.logSync(toLogRecord(report))
        else if (transport.logSync) transport.logSync(this.#formatted(logger, report, level))
        else transport.log?.(this.#formatted(logger, report, level), () => {})
      } catch (err) {
        this.#say(
          noticeOf(
            'FAULTLINE_CRASH_REPORT_FAILED',
            `could not write the crash report through ${transport.constructor.name}: ${describeFailure(err)}`,
          ),
        )
      }
    }
  }

  #readNow(logger: Logger, record: Record<string | symbol, unknown>): void {
    for (const reader of readers(logger)) this.#quietly(() => reader.call(logger, record))
    const transports: unknown[] = logger.transports
    for (const stream of pipedStreams(logger))
      if (!transports.includes(stream))
        this.#quietly(() => (stream as NodeJS.WritableStream).write(record as never))
  }

  /**
   * Runs `work` (which answers a request and reports it) so that what it
   * reports is on disk before this returns: an app's own exit-on-crash
   * listener may end the process right after, and the page already said
   * "reported". File and stderr lines are written now; a transport with only
   * a spool (mail, syslog, tickets) has its normal path, which spools within
   * the tick, and if the process exits first, the report goes to its spool
   * synchronously from the 'exit' event, as on the crash path. Nothing is sent
   * twice while the process lives.
   */
  durably(work: () => void): void {
    if (this.#gathering) return work()
    const gathered: Report[] = (this.#gathering = [])
    try {
      work()
    } finally {
      this.#gathering = undefined
      if (gathered.length) this.#secure(gathered)
    }
  }

  #secure(reports: Report[]): void {
    let spoolOnly = false
    for (const transport of this.#logger.transports as SyncTransport[]) {
      try {
        if (transport.silent) continue
        if (transport.flushSync) transport.flushSync()
        else if (transport.logSync) spoolOnly = true
      } catch (err) {
        this.#say(
          noticeOf(
            'FAULTLINE_DELIVERY_FAILED',
            `could not write a report through ${transport.constructor.name} at once: ${describeFailure(err)}`,
          ),
        )
      }
    }
    if (!spoolOnly) return
    if (this.#promised.length === 0) {
      process.on('exit', this.#keepPromised)
      // by the next turn the transports' own spools wrote what they took in this one
      setImmediate(() => {
        this.#promised = []
        process.off('exit', this.#keepPromised)
      })
    }
    this.#promised.push(...reports)
  }

  /** The process is exiting in the tick a report was promised in: the spool-only transports get it now. */
  #spoolPromised(): void {
    const reports = this.#promised
    this.#promised = []
    for (const transport of this.#logger.transports as SyncTransport[]) {
      if (transport.silent || transport.flushSync || !transport.logSync) continue
      for (const report of reports) {
        try {
          transport.logSync(toLogRecord(report))
        } catch (err) {
          this.#say(
            noticeOf(
              'FAULTLINE_DELIVERY_FAILED',
              `could not spool a report through ${transport.constructor.name}: ${describeFailure(err)}`,
            ),
          )
        }
      }
    }
  }

  #tell(report: Report): void {
    try {
      this.#announce(report)
    } catch (err) {
      // a listener's failure must not cost the report
      this.#say(
        noticeOf('FAULTLINE_LISTENER_THREW', `a 'report' listener threw: ${describeFailure(err)}`),
      )
    }
  }

  #quietly(action: () => void): void {
    try {
      action()
    } catch (err) {
      this.#say(
        noticeOf(
          'FAULTLINE_CRASH_REPORT_FAILED',
          `could not write the crash report: ${describeFailure(err)}`,
        ),
      )
    }
  }

  // the info a transport would get from winston: the level symbol and the logger's format applied
  #formatted(logger: Logger, report: Report, level: string): Record<string | symbol, unknown> {
    const info: Record<string | symbol, unknown> = {
      ...toLogRecord(report),
      level,
      [LEVEL]: level,
    }
    try {
      const formatted = logger.format.transform(info as { level: string; message: string }, {})
      return typeof formatted === 'object' ? formatted : info
    } catch {
      return info
    }
  }
}
