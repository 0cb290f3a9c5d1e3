import type { Report } from '../../lib/report/report.js'
import type { TicketAdapter, TicketRef } from './adapter.js'
import { heldBackTicket, type HeldTickets } from './ceiling.js'
import { occurrencesComment, regressionComment, ticketBody, ticketTitle } from './format.js'
import { occurrenceOf } from './reports.js'
import type { TicketThrottle } from './throttle.js'
import type { TicketOp } from './work.js'

/** What the tracker's work needs of its transport. */
export interface TrackerWorkContext {
  adapter: TicketAdapter
  onRegression: 'reopen' | 'new'
  maxPerHour: number
  /** The transport's counts, updated in place. */
  counts: { created: number; comments: number; reopened: number; summaries: number }
  /** Gives back the ceiling slot taken at `admittedAt`: the ceiling counts new tickets only. */
  giveBack(admittedAt: number): void
  /** Counts an occurrence into the window gathering now; false when none does (replayed, shutting down). */
  join(report: Report): boolean
  /** The claims that let one process of a fleet file an error's ticket. */
  claims: Pick<TicketThrottle, 'release' | 'claimToFile'>
  /** Told which ticket carries a fingerprint, once it is known. */
  linked?: (fingerprint: string, ticket: TicketRef) => void
}

/**
 * The ticket transport's tracker operations, run from its delivery line:
 * a first occurrence's ticket (found, filed, reopened, or a regression
 * filed anew), a window's comment, and the summary of what the ceiling held
 * back. Each may be retried; none files a second ticket on a retry.
 */
export class TrackerWork {
  readonly #c: TrackerWorkContext

  constructor(context: TrackerWorkContext) {
    this.#c = context
  }

  /** Runs one operation; a fleet's claim is given back once its ticket is settled. */
  async send(op: TicketOp): Promise<void> {
    if (op.op === 'ensure') {
      await this.ensure(op)
      if (op.claim) this.#c.claims.release(op.report.fingerprint, op.claim)
      return
    }
    if (op.op === 'comment') return this.comment(op)
    return this.fileSummary(op.held)
  }

  /** Finds the fingerprint's ticket, files it, or reopens it: a first occurrence's work. */
  async ensure(op: Extract<TicketOp, { op: 'ensure' }>): Promise<void> {
    const { report } = op
    // a retry after the tracker went away between filing and settling: the ticket filed is ours, not a stranger's
    const found = op.created ? undefined : await this.#c.adapter.find(report.fingerprint)
    if (!found) {
      const created =
        op.created ??
        (await this.#c.adapter.create({
          fingerprint: report.fingerprint,
          title: ticketTitle(report),
          body: ticketBody(report),
          report,
        }))
      op.created = created
      const winner = created.existed ? created : await this.#settleRace(created, report.fingerprint)
      this.#c.linked?.(report.fingerprint, winner)
      if (winner.id === created.id && !created.existed) {
        this.#c.counts.created++
        return
      }
      this.#refund(op)
      return this.#joinExisting(report, winner)
    }
    if (found.closed && this.#c.onRegression === 'new') return this.#fileRegression(report, found)
    this.#c.linked?.(report.fingerprint, found)
    // no new ticket after all: the ceiling counts only new ones
    this.#refund(op)
    if (!found.closed) return this.#joinExisting(report, found)
    await this.#c.adapter.reopen(found, regressionComment(report))
    this.#c.counts.reopened++
  }

  #refund(op: Extract<TicketOp, { op: 'ensure' }>): void {
    if (op.admittedAt !== undefined) this.#c.giveBack(op.admittedAt)
    // given back once: a retry of this same work gives nothing more
    op.admittedAt = undefined
  }

  async #fileRegression(report: Report, found: TicketRef): Promise<void> {
    const body = `${ticketBody(report)}\n\nRegression of ticket ${found.id}, which was closed.`
    const created = await this.#c.adapter.create({
      fingerprint: report.fingerprint,
      title: ticketTitle(report),
      body,
      report,
    })
    this.#c.linked?.(report.fingerprint, created)
    this.#c.counts.created++
  }

  /** The one ticket for what the ceiling held back in a period. */
  async fileSummary(held: HeldTickets): Promise<void> {
    const ticket = heldBackTicket(held, this.#c.maxPerHour)
    const created = await this.#c.adapter.create(ticket)
    if (!created.existed) this.#c.counts.summaries++
  }

  /** The ticket was there already (another process, an earlier run): the occurrence goes into a comment. */
  async #joinExisting(report: Report, ref: TicketRef): Promise<void> {
    if (this.#c.join(report)) return
    // replayed from the spool, or shutting down: nobody gathers, so it is said now
    await this.#c.adapter.comment(
      ref,
      occurrencesComment(1, report.time, [occurrenceOf(report)], report.time),
    )
    this.#c.counts.comments++
  }

  /** Several app instances may have filed the same error at once: the oldest ticket wins, ours is withdrawn. */
  async #settleRace(created: TicketRef, fingerprint: string): Promise<TicketRef> {
    const oldest = await this.#c.adapter.find(fingerprint)
    if (!oldest || oldest.id === created.id) return created
    if (this.#c.adapter.remove) await this.#c.adapter.remove(created)
    else if (this.#c.adapter.close)
      await this.#c.adapter.close(
        created,
        `Duplicate of ${oldest.id}, filed at the same moment by another instance.`,
      )
    return oldest
  }

  /** One comment for a window's count, reopening a ticket closed meanwhile, or filing one deleted meanwhile. */
  async comment(op: Extract<TicketOp, { op: 'comment' }>): Promise<void> {
    const text = occurrencesComment(op.count, op.since, op.occurrences, op.last)
    let current = await this.#c.adapter.find(op.fingerprint)
    // in a fleet, the ticket may be being filed by another process: only the claim's holder files one
    const claim = current
      ? undefined
      : await this.#c.claims.claimToFile(
          op.fingerprint,
          async () => (current = await this.#c.adapter.find(op.fingerprint)) !== undefined,
        )
    try {
      await this.#commentOn(current, op, text)
    } finally {
      if (claim) this.#c.claims.release(op.fingerprint, claim)
    }
  }

  async #commentOn(
    current: TicketRef | undefined,
    op: Extract<TicketOp, { op: 'comment' }>,
    text: string,
  ): Promise<void> {
    if (!current) {
      const ticket = {
        fingerprint: op.fingerprint,
        title: ticketTitle(op.first),
        body: ticketBody(op.first),
        report: op.first,
      }
      const created = await this.#c.adapter.create(ticket)
      if (!created.existed) this.#c.counts.created++
      await this.#c.adapter.comment(created, text)
    } else if (current.closed) {
      await this.#c.adapter.reopen(current, `${regressionComment(op.first)}\n\n${text}`)
      this.#c.counts.reopened++
      return
    } else {
      await this.#c.adapter.comment(current, text)
    }
    this.#c.counts.comments++
  }
}
