import TransportStream from 'winston-transport'
import type { Report } from '../lib/report.js'
import type { TicketAdapter, TicketRef } from '../lib/ticket-adapter.js'
import { occurrencesComment, regressionComment, ticketBody, ticketTitle, type TicketOccurrence } from '../lib/ticket-format.js'

/** Options of the ticket transport. */
export interface TicketTransportOptions {
  adapter: TicketAdapter
  /** Later occurrences of a fingerprint are batched into at most one comment per window. Default 10 minutes. */
  windowMs?: number
  /** File hand-written errors too, not only tracebacks. */
  errors?: boolean
  /** What a new occurrence of a closed ticket does: reopen it (default), or file a new ticket that names the old. */
  onRegression?: 'reopen' | 'new'
}

/** What the transport did, for health checks and tests. */
export interface TicketStats {
  created: number
  comments: number
  reopened: number
  pending: number
  failures: number
}

interface Track {
  fingerprint: string
  first: Report
  ref?: TicketRef
  count: number
  since: string
  last: string
  occurrences: TicketOccurrence[]
  timer?: NodeJS.Timeout
  flushQueued: boolean
  chain: Promise<void>
}

const MAX_LISTED = 50
const MAX_BACKOFF_MS = 60_000

function isReport(info: Record<string, unknown>): boolean {
  return typeof info.fingerprint === 'string' && typeof info.kind === 'string' && typeof info.id === 'string'
}

function occurrenceOf(report: Report): TicketOccurrence {
  return { id: report.id, time: report.time, ...(report.request ? { url: report.request.url } : {}) }
}

/**
 * One ticket per distinct error. The first occurrence of a fingerprint finds
 * or files its ticket; later ones are counted into at most one comment per
 * window; an occurrence of a closed ticket reopens it. Every tracker call
 * runs in the background, one fingerprint at a time, retried with backoff,
 * so a tracker that is down or slow delays no request and loses no count.
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
  readonly #tracks = new Map<string, Track>()
  #stats: TicketStats = { created: 0, comments: 0, reopened: 0, pending: 0, failures: 0 }
  #outage = false
  #closing = false

  constructor(options: TicketTransportOptions) {
    super({ level: 'error' })
    this.adapter = options.adapter
    this.#windowMs = options.windowMs ?? 10 * 60_000
    this.#onRegression = options.onRegression ?? 'reopen'
    this.#kinds = new Set(options.errors ? ['traceback', 'error'] : ['traceback'])
  }

  readonly #kinds: Set<string>

  override log(info: Record<string, unknown>, callback: () => void): void {
    if (isReport(info) && this.#kinds.has(String(info.kind))) this.#occur(info as unknown as Report)
    callback()
  }

  stats(): TicketStats {
    return { ...this.#stats }
  }

  #occur(report: Report): void {
    const track = this.#tracks.get(report.fingerprint)
    if (track) {
      track.count++
      track.last = report.time
      if (track.occurrences.length < MAX_LISTED) track.occurrences.push(occurrenceOf(report))
      return
    }
    const fresh: Track = { fingerprint: report.fingerprint, first: report, count: 0, since: report.time, last: report.time, occurrences: [], flushQueued: false, chain: Promise.resolve() }
    this.#tracks.set(report.fingerprint, fresh)
    this.#armWindow(fresh)
    this.#run(fresh, () => this.#ensureTicket(fresh, report))
  }

  #armWindow(track: Track): void {
    track.timer = setTimeout(() => {
      track.timer = undefined
      if (track.flushQueued) return
      track.flushQueued = true
      this.#run(track, () => this.#flush(track))
    }, this.#windowMs)
    track.timer.unref()
  }

  /** Finds the fingerprint's ticket, files it, or reopens it: the first occurrence's work. */
  async #ensureTicket(track: Track, report: Report): Promise<void> {
    const found = await this.adapter.find(report.fingerprint)
    if (!found) {
      const created = await this.adapter.create({ fingerprint: report.fingerprint, title: ticketTitle(report), body: ticketBody(report), report })
      if (created.existed) return this.#joinExisting(track, report, created)
      const winner = await this.#settleRace(created, report.fingerprint)
      if (winner.id !== created.id) return this.#joinExisting(track, report, winner)
      this.#stats.created++
      track.ref = created
      return
    }
    if (!found.closed) return this.#joinExisting(track, report, found)
    if (this.#onRegression === 'new') {
      const body = `${ticketBody(report)}\n\nRegression of ticket ${found.id}, which was closed.`
      track.ref = await this.adapter.create({ fingerprint: report.fingerprint, title: ticketTitle(report), body, report })
      this.#stats.created++
      return
    }
    await this.adapter.reopen(found, regressionComment(report))
    this.#stats.reopened++
    track.ref = { ...found, closed: false }
  }

  /** The ticket was there already (another process, an earlier run): this occurrence goes into the next comment. */
  #joinExisting(track: Track, report: Report, ref: TicketRef): void {
    track.ref = ref
    track.count++
    if (track.occurrences.length < MAX_LISTED) track.occurrences.unshift(occurrenceOf(report))
  }

  /** Several app instances may have filed the same error at once: the oldest ticket wins, ours is withdrawn. */
  async #settleRace(created: TicketRef, fingerprint: string): Promise<TicketRef> {
    const oldest = await this.adapter.find(fingerprint)
    if (!oldest || oldest.id === created.id) return created
    if (this.adapter.remove) await this.adapter.remove(created)
    else if (this.adapter.close) await this.adapter.close(created, `Duplicate of ${oldest.id}, filed at the same moment by another instance.`)
    return oldest
  }

  /** The window's end: one comment for what it counted (reopening a ticket closed meanwhile), then a new window if they keep coming. */
  async #flush(track: Track): Promise<void> {
    track.flushQueued = false
    if (track.count === 0) {
      this.#tracks.delete(track.fingerprint)
      return
    }
    const count = track.count
    const listed = track.occurrences.slice()
    const text = occurrencesComment(count, track.since, listed, track.last)
    const current = (await this.adapter.find(track.fingerprint)) ?? track.ref
    if (!current) {
      // the ticket vanished (deleted by hand): file it again from the window's first report
      await this.#ensureTicket(track, track.first)
    } else if (current.closed) {
      await this.adapter.reopen(current, `${regressionComment(track.first)}\n\n${text}`)
      this.#stats.reopened++
      track.ref = { ...current, closed: false }
    } else {
      await this.adapter.comment(current, text)
      this.#stats.comments++
      track.ref = current
    }
    track.count -= count
    track.occurrences.splice(0, listed.length)
    track.since = track.last
    if (!this.#closing) this.#armWindow(track)
  }

  #run(track: Track, op: () => Promise<void>): void {
    this.#stats.pending++
    track.chain = track.chain
      .then(() => this.#withRetry(op))
      // a failure was already announced, and what it held is counted at shutdown
      .catch(() => undefined)
      .finally(() => {
        this.#stats.pending--
      })
  }

  async #withRetry(op: () => Promise<void>): Promise<void> {
    let backoff = 1000
    for (;;) {
      try {
        await op()
        if (this.#outage) {
          this.#outage = false
          this.emit('warn', new Error(`${this.adapter.name} tracker answers again`))
        }
        return
      } catch (err) {
        this.#stats.failures++
        if (!this.#outage) {
          this.#outage = true
          this.emit('warn', new Error(`${this.adapter.name} tracker: ${err instanceof Error ? err.message : String(err)}; ticket work is kept and retried`))
        }
        if (this.#closing) throw err
        const permanent = (err as { permanent?: boolean }).permanent === true
        const wait = permanent ? MAX_BACKOFF_MS : backoff * (0.8 + Math.random() * 0.4)
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait)
          timer.unref()
          this.#wakeups.add(resolve)
        })
      }
    }
  }

  readonly #wakeups = new Set<() => void>()

  /** Sends the comments still gathering and waits for the tracker work, up to `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<void> {
    for (const track of this.#tracks.values()) {
      if (track.timer) clearTimeout(track.timer)
      track.timer = undefined
      if (!track.flushQueued && track.count > 0) {
        track.flushQueued = true
        this.#run(track, () => this.#flush(track))
      }
    }
    const all = Promise.allSettled([...this.#tracks.values()].map((t) => t.chain))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#closing = true
    void this.flush().then(() => callback())
  }

  override close(): void {
    this.#closing = true
    for (const track of this.#tracks.values()) if (track.timer) clearTimeout(track.timer)
    // retries waiting on a backoff end now; what they held is named below
    for (const wake of this.#wakeups) wake()
    if (this.#stats.pending > 0) this.emit('warn', new Error(`${this.#stats.pending} ticket operation(s) for the ${this.adapter.name} tracker were still pending at shutdown`))
  }
}
