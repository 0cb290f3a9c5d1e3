import TransportStream from 'winston-transport'
import { Delivery } from '../lib/delivery/delivery.js'
import type { Report } from '../lib/report/report.js'
import { settleWithin } from '../lib/delivery/deadline.js'
import { Spool } from '../lib/delivery/spool.js'
import { heldBackTicket, TicketCeiling, type HeldTickets } from './ticket/ceiling.js'
import { isReport, occurrenceOf, slim } from './ticket/reports.js'
import type { TicketAdapter, TicketRef } from './ticket/adapter.js'
import { occurrencesComment, regressionComment, ticketBody, ticketTitle, type TicketOccurrence } from './ticket/format.js'

/** Options of the ticket transport. */
export interface TicketTransportOptions {
  adapter: TicketAdapter
  /** Later occurrences of a fingerprint are batched into at most one comment per window. Default 10 minutes. */
  windowMs?: number
  /** File hand-written errors too, not only tracebacks. */
  errors?: boolean
  /** What a new occurrence of a closed ticket does: reopen it (default), or file a new ticket that names the old. */
  onRegression?: 'reopen' | 'new'
  /** The directory where tracker work waits across crashes and restarts; none keeps it in memory only. */
  spoolDir?: string
  /** New errors taken to the tracker per ceiling period (an hour); the rest go into one summary ticket. Default 30. */
  maxPerHour?: number
  /** The period `maxPerHour` counts over. Default an hour. */
  ceilingPeriodMs?: number
  /** Errors whose window is open at once; past it, the oldest window ends early. Default 1000. */
  maxFingerprints?: number
  /** Bytes of first reports the windows keep whole; past it, a window keeps only ids, times and the title's facts. Default 4 MiB. */
  maxHeldBytes?: number
}

/** What the transport did, for health checks and tests. */
export interface TicketStats {
  created: number
  comments: number
  reopened: number
  /** Tracker operations waiting (in memory). */
  pending: number
  spooled: number
  /** Failed tracker calls, each retried. */
  failures: number
  dropped: number
  /** Errors whose window is open, and how many of them hold their first report whole, in how many bytes. */
  windowed: number
  heldReports: number
  heldBytes: number
  /** Distinct errors the ceiling held back (in all), and summary tickets filed for them. */
  heldBack: number
  summaries: number
}

/** One unit of tracker work, as the spool keeps it. */
type TicketOp =
  | { op: 'ensure'; report: Report }
  | { op: 'comment'; fingerprint: string; first: Report; count: number; since: string; last: string; occurrences: TicketOccurrence[] }
  | { op: 'summary'; held: HeldTickets }

interface Track {
  /** The first report whole while the byte budget allows, else its slim form. */
  first: Report
  /** Bytes of `first` when it is held whole, 0 for the slim form. */
  bytes: number
  count: number
  since: string
  last: string
  occurrences: TicketOccurrence[]
  timer?: NodeJS.Timeout
}

const MAX_LISTED = 50
const MAX_QUEUE = 1000
const CLOSE_MS = 2000

/**
 * One ticket per distinct error. The first occurrence of a fingerprint finds
 * or files its ticket; later ones are counted into at most one comment per
 * window; an occurrence of a closed ticket reopens it. The tracker work runs
 * on the shared delivery line (spooled, in order, retried with backoff), so a
 * tracker that is down or slow delays no request and loses no count.
 * Memory and tracker load stay bounded in a storm of distinct errors: at most
 * `maxPerHour` new errors go to the tracker per hour (the rest are counted
 * into one summary ticket), at most `maxFingerprints` windows are open, and
 * they keep whole first reports only within `maxHeldBytes`.
 *
 * @example
 * ```ts
 * new TicketTransport({ adapter: new LocalTicketAdapter('var/tickets') })
 * ```
 */
export class TicketTransport extends TransportStream {
  readonly adapter: TicketAdapter
  readonly #windowMs: number
  readonly #onRegression: 'reopen' | 'new'
  readonly #kinds: Set<string>
  readonly #tracks = new Map<string, Track>()
  readonly #delivery: Delivery<TicketOp>
  readonly #ceiling: TicketCeiling
  readonly #maxPerHour: number
  readonly #maxFingerprints: number
  readonly #maxHeldBytes: number
  #heldBytes = 0
  #heldReports = 0
  #counts = { created: 0, comments: 0, reopened: 0, heldBack: 0, summaries: 0 }
  #closed = false

  constructor(options: TicketTransportOptions) {
    super({ level: 'error' })
    this.adapter = options.adapter
    this.#windowMs = options.windowMs ?? 10 * 60_000
    this.#onRegression = options.onRegression ?? 'reopen'
    this.#kinds = new Set(options.errors ? ['traceback', 'error'] : ['traceback'])
    this.#maxPerHour = options.maxPerHour ?? 30
    this.#maxFingerprints = options.maxFingerprints ?? 1000
    this.#maxHeldBytes = options.maxHeldBytes ?? 4 * 1024 * 1024
    this.#ceiling = new TicketCeiling({ maxPerPeriod: this.#maxPerHour, periodMs: options.ceilingPeriodMs ?? 60 * 60_000 }, (held) => this.#holdBack(held))
    const name = this.adapter.name
    this.#delivery = new Delivery<TicketOp>({
      send: (op) => this.#send(op),
      ...(options.spoolDir ? { spool: new Spool<TicketOp>({ dir: options.spoolDir }) } : {}),
      maxQueue: MAX_QUEUE,
      minBackoffMs: 1000,
      target: `${name} tracker`,
      onWarn: (err) => this.emit('warn', new Error(err.message.endsWith('works again') ? `${name} tracker answers again` : `${name} tracker: ${err.message}; ticket work is kept and retried`)),
      onDropped: (count) => this.emit('warn', new Error(`${count} ticket operation(s) for the ${name} tracker were dropped (queue full or retried too long)`)),
    })
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    if (isReport(info) && this.#kinds.has(String(info.kind))) this.#occur(info as unknown as Report)
    callback()
  }

  /** For a process about to die: the report's ticket work goes straight to the spool. */
  logSync(info: Record<string, unknown>): void {
    if (!isReport(info) || !this.#kinds.has(String(info.kind))) return
    const report = info as unknown as Report
    this.#delivery.pushSync(`ensure:${report.id}`, { op: 'ensure', report })
  }

  stats(): TicketStats {
    const d = this.#delivery.stats()
    const windows = { windowed: this.#tracks.size, heldReports: this.#heldReports, heldBytes: this.#heldBytes }
    return { ...this.#counts, heldBack: this.#counts.heldBack + this.#ceiling.heldBack, pending: d.queued, spooled: d.spooled, failures: d.retried, dropped: d.dropped, ...windows }
  }

  #holdBack(held: HeldTickets): void {
    this.#counts.heldBack += held.errors
    this.#delivery.push(`summary:${held.from}`, { op: 'summary', held })
  }

  #send(op: TicketOp): Promise<void> {
    if (op.op === 'ensure') return this.#ensureTicket(op.report)
    if (op.op === 'comment') return this.#comment(op)
    return this.#fileSummary(op.held)
  }

  #occur(report: Report): void {
    const track = this.#tracks.get(report.fingerprint)
    if (track) return this.#count(track, report)
    if (this.#ceiling.holds(report)) return
    if (this.#tracks.size >= this.#maxFingerprints) this.#endOldestWindow()
    const fresh: Track = { ...this.#keep(report), count: 0, since: report.time, last: report.time, occurrences: [] }
    this.#tracks.set(report.fingerprint, fresh)
    this.#armWindow(report.fingerprint, fresh)
    this.#delivery.push(`ensure:${report.id}`, { op: 'ensure', report })
  }

  /** The first report as the window keeps it: whole within the byte budget, slim past it. */
  #keep(report: Report): Pick<Track, 'first' | 'bytes'> {
    const bytes = JSON.stringify(report).length
    if (this.#heldBytes + bytes > this.#maxHeldBytes) return { first: slim(report), bytes: 0 }
    this.#heldBytes += bytes
    this.#heldReports++
    return { first: report, bytes }
  }

  #forget(fingerprint: string, track: Track): void {
    if (track.timer) clearTimeout(track.timer)
    this.#tracks.delete(fingerprint)
    this.#heldBytes -= track.bytes
    if (track.bytes) this.#heldReports--
  }

  /** Too many windows open: the oldest ends now, its count goes out, and its error starts afresh if it comes again. */
  #endOldestWindow(): void {
    const [fingerprint, track] = this.#tracks.entries().next().value!
    this.#forget(fingerprint, track)
    if (track.count) this.#pushComment(fingerprint, track)
  }

  #pushComment(fingerprint: string, track: Track): void {
    const { first, count, since, last, occurrences } = track
    this.#delivery.push(`comment:${fingerprint}:${occurrences.at(-1)?.id ?? last}:${count}`, { op: 'comment', fingerprint, first, count, since, last, occurrences })
  }

  #count(track: Track, report: Report): void {
    track.count++
    track.last = report.time
    if (track.occurrences.length < MAX_LISTED) track.occurrences.push(occurrenceOf(report))
  }

  #armWindow(fingerprint: string, track: Track): void {
    if (this.#closed) return
    track.timer = setTimeout(() => this.#endWindow(fingerprint, track), this.#windowMs)
    track.timer.unref()
  }

  /** The window's end: what it counted becomes one comment, and a new window opens while they keep coming. */
  #endWindow(fingerprint: string, track: Track): void {
    track.timer = undefined
    if (track.count === 0) return this.#forget(fingerprint, track)
    this.#pushComment(fingerprint, track)
    const { last } = track
    track.count = 0
    track.occurrences = []
    track.since = last
    this.#armWindow(fingerprint, track)
  }

  /** Finds the fingerprint's ticket, files it, or reopens it: a first occurrence's work. */
  async #ensureTicket(report: Report): Promise<void> {
    const found = await this.adapter.find(report.fingerprint)
    if (!found) {
      const created = await this.adapter.create({ fingerprint: report.fingerprint, title: ticketTitle(report), body: ticketBody(report), report })
      const winner = created.existed ? created : await this.#settleRace(created, report.fingerprint)
      if (winner.id === created.id && !created.existed) {
        this.#counts.created++
        return
      }
      this.#ceiling.refund()
      return this.#joinExisting(report, winner)
    }
    if (found.closed && this.#onRegression === 'new') return this.#fileRegression(report, found)
    // no new ticket after all: the ceiling counts only new ones
    this.#ceiling.refund()
    if (!found.closed) return this.#joinExisting(report, found)
    await this.adapter.reopen(found, regressionComment(report))
    this.#counts.reopened++
  }

  async #fileRegression(report: Report, found: TicketRef): Promise<void> {
    const body = `${ticketBody(report)}\n\nRegression of ticket ${found.id}, which was closed.`
    await this.adapter.create({ fingerprint: report.fingerprint, title: ticketTitle(report), body, report })
    this.#counts.created++
  }

  /** The one ticket for what the ceiling held back in a period. */
  async #fileSummary(held: HeldTickets): Promise<void> {
    const ticket = heldBackTicket(held, this.#maxPerHour)
    const created = await this.adapter.create(ticket)
    if (!created.existed) this.#counts.summaries++
  }

  /** The ticket was there already (another process, an earlier run): the occurrence goes into a comment. */
  async #joinExisting(report: Report, ref: TicketRef): Promise<void> {
    const track = this.#tracks.get(report.fingerprint)
    if (track && !this.#closed) return this.#count(track, report)
    // replayed from the spool, or shutting down: nobody gathers, so it is said now
    await this.adapter.comment(ref, occurrencesComment(1, report.time, [occurrenceOf(report)], report.time))
    this.#counts.comments++
  }

  /** Several app instances may have filed the same error at once: the oldest ticket wins, ours is withdrawn. */
  async #settleRace(created: TicketRef, fingerprint: string): Promise<TicketRef> {
    const oldest = await this.adapter.find(fingerprint)
    if (!oldest || oldest.id === created.id) return created
    if (this.adapter.remove) await this.adapter.remove(created)
    else if (this.adapter.close) await this.adapter.close(created, `Duplicate of ${oldest.id}, filed at the same moment by another instance.`)
    return oldest
  }

  /** One comment for a window's count, reopening a ticket closed meanwhile, or filing one deleted meanwhile. */
  async #comment(op: Extract<TicketOp, { op: 'comment' }>): Promise<void> {
    const text = occurrencesComment(op.count, op.since, op.occurrences, op.last)
    const current = await this.adapter.find(op.fingerprint)
    if (!current) {
      const ticket = { fingerprint: op.fingerprint, title: ticketTitle(op.first), body: ticketBody(op.first), report: op.first }
      const created = await this.adapter.create(ticket)
      if (!created.existed) this.#counts.created++
      await this.adapter.comment(created, text)
    } else if (current.closed) {
      await this.adapter.reopen(current, `${regressionComment(op.first)}\n\n${text}`)
      this.#counts.reopened++
      return
    } else {
      await this.adapter.comment(current, text)
    }
    this.#counts.comments++
  }

  /** Sends the comments still gathering and waits for the tracker work, up to `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<void> {
    this.#ceiling.flush()
    for (const [fingerprint, track] of this.#tracks) {
      if (track.timer) clearTimeout(track.timer)
      track.timer = undefined
      this.#endWindow(fingerprint, track)
    }
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
    this.#ceiling.flush()
    for (const track of this.#tracks.values()) if (track.timer) clearTimeout(track.timer)
    const { queued, spooled } = this.#delivery.stats()
    if (queued) this.emit('warn', new Error(`${queued} ticket operation(s) for the ${this.adapter.name} tracker were still pending at shutdown${spooled ? '; they wait in the spool for the next start' : ''}`))
    this.#closing = settleWithin(this.#delivery.close(0), CLOSE_MS)
    return this.#closing
  }
}
