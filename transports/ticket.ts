import TransportStream from 'winston-transport'
import { sayFrom, setTransportNotices } from '../lib/notices.js'
import { Delivery } from './delivery/delivery.js'
import { isReport, type Report } from '../lib/report/report.js'
import { reportOf } from '../lib/report/from-record.js'
import { settleWithin } from '../lib/contract/deadline.js'
import { LoggedLedger } from './delivery/logged-ledger.js'
import { Spool } from './delivery/spool.js'
import { undeliveredAtShutdown, type ReportTransport } from '../lib/contract/transport-contract.js'
import type { HeldTickets } from './ticket/ceiling.js'
import type { TicketAdapter } from './ticket/adapter.js'
import { TrackerWork } from './ticket/tracker-work.js'
import { resolveTicketOptions, type TicketTransportOptions } from './ticket/options.js'
import { TicketThrottle, type TicketThrottleSink } from './ticket/throttle.js'
import type { TicketOp, TicketStats } from './ticket/work.js'

export type { TicketStats }

const MAX_QUEUE = 1000
const CLOSE_MS = 2000
// the group the reports the ceiling held back gather under, until their summary ticket carries them
const HELD = '\u0000held'

/**
 * One ticket per distinct error. The first occurrence of a fingerprint finds
 * or files its ticket; later ones are counted into at most one comment per
 * window; an occurrence of a closed ticket reopens it. The tracker work runs
 * on the shared delivery line (spooled, in order, retried with backoff), so a
 * tracker that is down or slow delays no request and loses no count.
 * Memory and tracker load stay bounded in a storm of distinct errors: at most
 * `ceiling.max` new tickets per sliding period (across the fleet with a
 * shared store; the rest are counted into one summary ticket per process),
 * at most `maxFingerprints` windows wait, and whole first reports are kept
 * for their comments only within `maxHeldBytes`. The same rules run on this
 * process's own state or on the fleet's store.
 *
 * `logged` is emitted with a report once the tracker operation that carries
 * it is done: its ticket's work, the window's comment it was counted into,
 * or the summary ticket of what the ceiling held back. An operation the
 * tracker refuses for good (a `TicketError` with `permanent: true`, such as a
 * wrong API key) is dropped at once, and said once until the tracker works.
 * `ticket` is emitted with `{ fingerprint, id, url }` once an error's ticket
 * is known (found, filed or reopened), for the incident view's link.
 *
 * @example
 * ```ts
 * new TicketTransport({ adapter: new LocalTicketAdapter('var/tickets') })
 * ```
 */
export class TicketTransport extends TransportStream implements ReportTransport {
  readonly name = 'tickets'
  readonly adapter: TicketAdapter
  readonly #kinds: Set<string>
  readonly #throttle: TicketThrottle
  readonly #delivery: Delivery<TicketOp>
  #counts = { created: 0, comments: 0, reopened: 0, heldBack: 0, summaries: 0 }
  #closed = false
  #refusalSaid = false
  readonly #logged = new LoggedLedger(this)
  readonly #muted: ((fingerprint: string) => boolean) | undefined
  readonly #work: TrackerWork

  constructor(options: TicketTransportOptions) {
    super({ level: 'error' })
    const { spoolDir, coordination, muted, notices, ...setting } = options
    setTransportNotices(this, notices)
    this.#muted = muted
    const settings = resolveTicketOptions(setting as Record<string, unknown>)
    this.adapter = settings.adapter
    this.#kinds = new Set(settings.errors ? ['traceback', 'error'] : ['traceback'])
    const limits = {
      windowMs: settings.windowMs ?? 10 * 60_000,
      maxPerPeriod: settings.maxPerHour,
      periodMs: settings.ceilingPeriodMs,
      maxFingerprints: settings.maxFingerprints,
      maxHeldBytes: settings.maxHeldBytes,
    }
    // without a shared store the same rules run on this process's own state, answered at once
    this.#throttle = new TicketThrottle(limits, this.#sink(), coordination, (err) =>
      sayFrom(this, 'FAULTLINE_TICKETS_STORE_FAILED', err.message),
    )
    this.#work = new TrackerWork({
      adapter: this.adapter,
      onRegression: settings.onRegression,
      maxPerHour: settings.maxPerHour,
      counts: this.#counts,
      giveBack: (admittedAt) => this.#throttle.giveBack(admittedAt),
      join: (report) => this.#join(report),
      claims: this.#throttle,
      linked: (fingerprint, ticket) =>
        this.emit('ticket', {
          fingerprint,
          id: ticket.id,
          ...(ticket.url ? { url: ticket.url } : {}),
        }),
    })
    const name = this.adapter.name
    this.#delivery = new Delivery<TicketOp>({
      send: (op) => this.#work.send(op),
      ...(spoolDir ? { spool: new Spool<TicketOp>({ dir: spoolDir }) } : {}),
      maxQueue: MAX_QUEUE,
      minBackoffMs: 1000,
      events: {
        down: (err) =>
          sayFrom(
            this,
            'FAULTLINE_TICKETS_DOWN',
            `${name} tracker: ${err.message}; ticket work is kept and retried`,
          ),
        up: () => sayFrom(this, 'FAULTLINE_TICKETS_BACK', `${name} tracker answers again`),
        dropped: (count) =>
          sayFrom(
            this,
            'FAULTLINE_TICKETS_DROPPED',
            `${count} ticket operation(s) for the ${name} tracker were dropped (queue full or retried too long)`,
          ),
        delivered: (key) => this.#delivered(key),
        refused: (key) => this.#logged.forget(key),
        gaveUp: (key, err) => this.#gaveUp(key, err),
        spoolFailed: (err) =>
          sayFrom(
            this,
            'FAULTLINE_TICKETS_SPOOL_FAILED',
            `the ${name} tracker's spool cannot be written (${err.message}); ticket work waits in memory meanwhile`,
          ),
      },
    })
  }

  #sink(): TicketThrottleSink {
    let elsewhere = 0
    return {
      file: (report, claim, admittedAt) => {
        this.#logged.gather(report.fingerprint, report)
        const op: TicketOp = { op: 'ensure', report, admittedAt, ...(claim ? { claim } : {}) }
        this.#push(`ensure:${report.id}`, op, [report.fingerprint])
      },
      counted: (report) => this.#logged.gather(report.fingerprint, report),
      held: (report) => this.#logged.gather(HELD, report),
      comment: (op) =>
        this.#push(
          `comment:${op.fingerprint}:${op.occurrences.at(-1)?.id ?? op.last}:${op.count}`,
          op,
          [op.fingerprint],
        ),
      heldBack: (held) => this.#holdBack(held),
      // another process's comment counts them: announced as taken, since that process delivers it
      countedElsewhere: (fingerprint) => {
        const key = `elsewhere:${fingerprint}:${++elsewhere}`
        this.#logged.carry(key, [fingerprint])
        this.#logged.delivered(key)
      },
    }
  }

  // on a plain winston logger, `logger.error('database is down')` is a hand-written error, ticketed when `errors` is on
  override log(record: Record<string, unknown>, callback: () => void): void {
    const info = reportOf(record, 'app') ?? record
    if (isReport(info) && this.#kinds.has(info.kind) && this.#muted?.(info.fingerprint))
      this.emit('logged', info)
    else if (isReport(info) && this.#kinds.has(info.kind)) this.#throttle.add(info)
    callback()
  }

  /** For a process about to die: the report's ticket work goes straight to the spool. */
  logSync(record: Record<string, unknown>): void {
    const info = reportOf(record, 'app')
    if (!info || !this.#kinds.has(info.kind)) return
    this.#delivery.pushSync(`ensure:${info.id}`, { op: 'ensure', report: info })
  }

  stats(): TicketStats {
    const { delivered, queued, spooled, retried, dropped } = this.#delivery.stats()
    return {
      delivered,
      queued,
      spooled,
      retried,
      dropped,
      ...this.#counts,
      ...this.#throttle.stats(),
      heldBack: this.#counts.heldBack + this.#throttle.stats().heldBack,
    }
  }

  #delivered(key: string): void {
    this.#refusalSaid = false
    this.#logged.delivered(key)
  }

  /** An operation given up: one the tracker refuses for good is said once, with what to fix, until the tracker works. */
  #gaveUp(key: string, err: Error): void {
    this.#logged.forget(key)
    if (!(err as { permanent?: unknown }).permanent || this.#refusalSaid) return
    this.#refusalSaid = true
    sayFrom(
      this,
      'FAULTLINE_TICKETS_REFUSED',
      `${this.adapter.name} tracker: ${err.message}; ticket work it refuses is dropped, not retried`,
    )
  }

  #holdBack(held: HeldTickets): void {
    this.#counts.heldBack += held.errors
    this.#push(`summary:${held.from}`, { op: 'summary', held }, [HELD])
  }

  /** Queues one tracker operation; the reports of `groups` gathered so far are `logged` once it is done. */
  #push(key: string, op: TicketOp, groups: string[]): void {
    this.#logged.carry(key, groups)
    this.#delivery.push(key, op)
  }

  /** Counts an occurrence whose ticket exists into the window gathering now: the fleet's, or this process's. */
  #join(report: Report): boolean {
    if (this.#closed) return false
    this.#throttle.join(report)
    return true
  }

  /** Sends the comments still gathering and waits for the tracker work, up to `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<void> {
    const flushed = this.#throttle.flush()
    if (flushed) await settleWithin(flushed, timeoutMs)
    await this.#delivery.drain(timeoutMs)
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.flush().then(() => callback())
  }

  #closing: Promise<void> | undefined

  /** Stops the tracker work; resolves once the spool has recorded what is still owed. Safe to call twice. */
  override close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.#closed = true
    // the windows are taken first: their comments join what is owed
    const flushed = this.#throttle.flush(true)
    const taken = flushed && settleWithin(flushed, CLOSE_MS / 2)
    this.#closing = settleWithin(
      taken ? taken.then(() => this.#shutDown()) : this.#shutDown(),
      CLOSE_MS,
    )
    return this.#closing
  }

  #shutDown(): Promise<unknown> {
    const warning = undeliveredAtShutdown(
      this.#delivery.stats(),
      `ticket operation(s) for the ${this.adapter.name} tracker`,
    )
    if (warning) sayFrom(this, 'FAULTLINE_TICKETS_UNDELIVERED', warning.message)
    return this.#delivery.close(0)
  }
}
