import TransportStream from 'winston-transport'
import { sayFrom, setTransportNotices, type NoticesOption } from '../lib/notices.js'
import type { ReportTransport } from '../lib/contract/transport-contract.js'
import { flushOnExit, stopFlushingOnExit } from './delivery/exit-flush.js'
import { MESSAGE } from 'triple-beam'
import { escapeControl, formatLine } from '../lib/report/format-line.js'
import { isReport } from '../lib/report/report.js'
import { RepeatSummary } from './stderr/repeat-summary.js'

// a formatted line may hold several lines of its own (a stack); only control characters that forge or hide lines go
function escapeLine(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeControl(line))
    .join('\n    ')
}

/**
 * Options of the stderr transport.
 *
 * @example
 * ```ts
 * // errors only and no colours: the collector reading stderr would keep the escape codes
 * const options: StderrTransportOptions = { level: 'error', colors: false }
 * createFaultline({ transports: [new StderrTransport(options)], stderr: false })
 * ```
 */
export interface StderrTransportOptions extends TransportStream.TransportStreamOptions {
  /** Where the lines go; `process.stderr` by default. */
  stream?: NodeJS.WritableStream
  /** ANSI colours; by default on when the stream is a terminal. */
  colors?: boolean
  /** Where this transport's notices go when it is not one of a faultline's (which gives it its own `notices`). Default stderr. */
  notices?: NoticesOption
}

// past this, the batch is written at once rather than when the interval ends
const MAX_BATCH = 64 * 1024
// how long a line may wait for others: unnoticeable in `docker logs`, and one write per interval in a storm
const FLUSH_MS = 20
// a storm's repeats are summarised at most once a second per fingerprint: what an operator reads fits on a screen
const SUMMARY_MS = 1000

/**
 * Writes every report as readable text to stderr: a header line per report,
 * and the stack for the full report of an error or traceback. A storm's
 * repeats are summarised: one line per fingerprint per second at most, with
 * how many and the first and last incident id (each repeat is still in the
 * file and the incident store under its own id). The lines of 20 ms go out in one write: stderr to a
 * file or a pipe is synchronous in Node on Linux, so a write per report would
 * hold the event loop once per request in a storm.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [new StderrTransport({ level: 'error' })], stderr: false })
 * ```
 */
export class StderrTransport extends TransportStream implements ReportTransport {
  readonly name = 'stderr'
  readonly #stream: NodeJS.WritableStream
  readonly #format: { colors: boolean }
  #batch = ''
  #logged: Array<Record<string, unknown>> = []
  #scheduled: NodeJS.Timeout | undefined
  readonly #repeats: RepeatSummary
  #summarised: Array<Record<string, unknown>> = []
  #summaryDue: NodeJS.Timeout | undefined

  constructor(options: StderrTransportOptions = {}) {
    const { notices, ...rest } = options
    super(rest)
    setTransportNotices(this, notices)
    this.#stream = rest.stream ?? process.stderr
    this.#format = {
      colors: rest.colors ?? (this.#stream as { isTTY?: boolean }).isTTY === true,
    }
    this.#repeats = new RepeatSummary(this.#format.colors)
  }

  /** For a process about to die: what is batched, then this report, written at once. */
  logSync(info: Record<string, unknown>): void {
    this.flushSync()
    this.#stream.write(formatLine(info, this.#format))
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    try {
      if (isReport(info) && this.#repeats.add(info)) this.#countRepeat(info)
      else this.#batchLine(info)
    } catch (err) {
      sayFrom(this, 'FAULTLINE_STDERR_FAILED', err instanceof Error ? err.message : String(err))
    }
    callback()
  }

  /** A repeat is counted, not written: its summary goes out with the others of its second. */
  #countRepeat(info: Record<string, unknown>): void {
    if (this.listenerCount('logged') > 0) this.#summarised.push(info)
    if (this.#repeats.full) return this.#writeSummaries()
    if (this.#summaryDue) return
    this.#summaryDue = setTimeout(() => this.#writeSummaries(), SUMMARY_MS).unref()
    flushOnExit(this)
  }

  /** The summaries of the second, after what is batched, so each follows the full report it counts repeats of. */
  #writeSummaries(): void {
    clearTimeout(this.#summaryDue)
    this.#summaryDue = undefined
    if (this.#repeats.empty) return
    this.#batch += this.#repeats.take()
    this.#logged.push(...this.#summarised.splice(0))
    this.#writeBatch()
  }

  #batchLine(info: Record<string, unknown>): void {
    this.#batch += this.#lineOf(info)
    // held until written only for someone waiting on it: a storm's records are otherwise free at once
    if (this.listenerCount('logged') > 0) this.#logged.push(info)
    if (this.#batch.length >= MAX_BATCH) this.#writeBatch()
    else this.#schedule()
  }

  /**
   * A report in faultline's own line; any other record as the logger's
   * format wrote it (a plain winston logger's `simple()`, `json()`…), else in
   * the same line shape with its fields: nothing the app logged is dropped.
   */
  #lineOf(info: Record<string | symbol, unknown>): string {
    if (!isReport(info as Record<string, unknown>)) {
      const formatted = Object.getOwnPropertyDescriptor(info, MESSAGE)
      // faultline's own logger makes its JSON lazily, as a getter: that is no format an app chose
      if (formatted && typeof formatted.value === 'string')
        return `${escapeLine(formatted.value)}\n`
    }
    return formatLine(info as Record<string, unknown>, this.#format)
  }

  /** Writes what is batched now, and the repeats counted so far (on close, on exit, before a crash report). */
  flushSync(): void {
    this.#writeSummaries()
    this.#writeBatch()
  }

  #writeBatch(): void {
    if (this.#scheduled) clearTimeout(this.#scheduled)
    this.#scheduled = undefined
    if (!this.#summaryDue) stopFlushingOnExit(this)
    if (!this.#batch) return
    const text = this.#batch
    const logged = this.#logged
    this.#batch = ''
    this.#logged = []
    try {
      this.#stream.write(text)
    } catch (err) {
      sayFrom(this, 'FAULTLINE_STDERR_FAILED', err instanceof Error ? err.message : String(err))
      return
    }
    for (const info of logged) this.emit('logged', info)
  }

  /** For `close()`: nothing stays batched. */
  flush(): Promise<void> {
    this.flushSync()
    return Promise.resolve()
  }

  override close(): void {
    this.flushSync()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flushSync()
    callback()
  }

  #schedule(): void {
    if (this.#scheduled) return
    // unref'd: a batch never keeps the process alive, the 'exit' hook writes it
    this.#scheduled = setTimeout(() => this.#writeBatch(), FLUSH_MS).unref()
    // a process.exit() before the interval ends must not lose what is batched
    flushOnExit(this)
  }
}
