import type { Report } from '../../lib/report/report.js'
import type { FleetCoordination } from '../../lib/store/types.js'
import { occurrenceOf, slim } from './reports.js'
import type { TicketOp } from './work.js'
import { BackgroundWork } from '../delivery/background-work.js'

const SCOPE = 'tickets'
// long enough for a slow tracker to file; a process that dies holding it blocks no one for longer
const CLAIM_MS = 10 * 60_000
// windows this process counted into and still has to take: beyond this, the oldest is taken early
const MAX_WINDOWS = 2000
const FILING_CHECKS = 10
const FILING_CHECK_MS = 500

/** What the fleet's ticket windows ask of their transport. */
export interface FleetTicketHooks {
  /** This process holds the fingerprint's claim: it takes the report to the tracker (or its ceiling holds it back). */
  file(report: Report, claim: string): void
  /** This process took a window's counts: one comment for the fleet. */
  comment(op: Extract<TicketOp, { op: 'comment' }>): void
  /** A window this process counted into was taken by another process, whose comment carries its reports. */
  countedElsewhere(fingerprint: string): void
  /** A store call failed outright (said once). */
  warn(err: Error): void
}

/** The claim's key in the store. */
function claimKey(fingerprint: string): string {
  return `ticket:${fingerprint}`
}

/**
 * The ticket transport's windows kept in the fleet's store. An occurrence
 * that opens a fingerprint's window claims the fingerprint before filing:
 * only the holder of the claim files, so two hosts never file two tickets.
 * Every other occurrence, from every process, is counted into the fleet's
 * window, and at its end exactly one process takes the count and comments.
 */
export class FleetTickets {
  readonly #timers = new Map<
    string,
    { fingerprint: string; start: number; timer: NodeJS.Timeout }
  >()
  readonly #work: BackgroundWork
  #closed = false

  constructor(
    private readonly coordination: FleetCoordination,
    private readonly windowMs: number,
    private readonly hooks: FleetTicketHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.#work = new BackgroundWork((err) => {
      const reason = String((err as { message?: unknown })?.message ?? err)
      this.hooks.warn(new Error(`the shared store failed for tickets (${reason})`))
    })
  }

  /** One occurrence: it opens the fleet's window (and files, holding the claim), or counts into it. */
  occur(report: Report): void {
    this.#work.track(this.#occur(report))
  }

  /** An occurrence that joined an existing ticket: counted into the fleet's window, for the next comment. */
  count(report: Report): void {
    this.#work.track(this.#count(report))
  }

  async #occur(report: Report): Promise<void> {
    const result = await this.#gather(report)
    this.#armTake(report.fingerprint, result.start)
    if (!result.opened) return
    const claim = await this.coordination.claim(claimKey(report.fingerprint), CLAIM_MS)
    if (claim) return this.hooks.file(report, claim)
    // another process is filing this error's ticket right now: the occurrence is counted, not filed
    await this.#count(report)
  }

  async #count(report: Report): Promise<void> {
    let result = await this.#gather(report)
    // it opened a window (the last one was taken meanwhile): gathered once more, it is counted in that window
    if (result.opened) result = await this.#gather(report)
    this.#armTake(report.fingerprint, result.start)
  }

  #gather(report: Report) {
    return this.coordination.gather(
      SCOPE,
      report.fingerprint,
      JSON.stringify(slim(report)),
      occurrenceOf(report),
      this.windowMs,
    )
  }

  /** Gives the claim back once the ticket is filed or joined: a later regression claims afresh. */
  release(fingerprint: string, claim: string): void {
    this.#work.track(this.coordination.release(claimKey(fingerprint), claim))
  }

  /**
   * For a comment that finds no ticket: claims the fingerprint before filing
   * one, and while another process holds the claim, waits for its ticket.
   * Resolves with the claim to file under, or undefined when the ticket
   * appeared (or the wait ran out: the tracker's race settlement decides).
   */
  async claimToFile(
    fingerprint: string,
    appeared: () => Promise<boolean>,
  ): Promise<string | undefined> {
    for (let check = 0; check < FILING_CHECKS; check++) {
      const claim = await this.coordination.claim(claimKey(fingerprint), CLAIM_MS)
      if (claim) return claim
      await new Promise((resolve) => setTimeout(resolve, FILING_CHECK_MS))
      if (await appeared()) return undefined
    }
    return undefined
  }

  /** Every process that counted into a window asks for it at its end; the store gives it to one. */
  #armTake(fingerprint: string, start: number): void {
    const key = `${fingerprint}\u0000${start}`
    if (this.#timers.has(key)) return
    if (this.#timers.size >= MAX_WINDOWS) this.#takeNow(this.#timers.keys().next().value!)
    const timer = setTimeout(
      () => this.#takeNow(key),
      Math.max(0, start + this.windowMs - this.now()),
    )
    timer.unref()
    this.#timers.set(key, { fingerprint, start, timer })
    // a window counted into while closing is taken at once: nobody would take it later
    if (this.#closed) this.#takeNow(key)
  }

  #takeNow(key: string): void {
    const entry = this.#timers.get(key)
    if (!entry) return
    clearTimeout(entry.timer)
    this.#timers.delete(key)
    this.#work.track(this.#take(entry.fingerprint, entry.start))
  }

  async #take(fingerprint: string, start: number): Promise<void> {
    const gathered = await this.coordination.take(SCOPE, fingerprint, start, this.windowMs)
    if (!gathered) return this.hooks.countedElsewhere(fingerprint)
    this.hooks.comment({
      op: 'comment',
      fingerprint,
      first: JSON.parse(gathered.first) as Report,
      count: gathered.count,
      since: new Date(gathered.since).toISOString(),
      last: new Date(gathered.until).toISOString(),
      occurrences: gathered.occurrences,
    })
  }

  /** Settles the store calls under way and takes every window this process counted into: for shutdown. */
  async flush(closing = false): Promise<void> {
    this.#closed ||= closing
    await this.#work.settled()
    for (const key of [...this.#timers.keys()]) this.#takeNow(key)
    await this.#work.settled()
  }
}
