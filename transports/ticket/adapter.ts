import type { Report } from '../../lib/report/report.js'

/**
 * A ticket as faultline keeps track of it.
 *
 * @example
 * ```ts
 * async function find(fingerprint: string): Promise<TicketRef | undefined> {
 *   const issue = await jira.oldestWithLabel(`fp-${fingerprint}`) // the oldest wins a race
 *   return issue ? { id: issue.key, closed: issue.resolved, url: issue.browseUrl } : undefined
 * }
 * ```
 */
export interface TicketRef {
  /** The tracker's id of the ticket (`"42"` in Redmine, the fingerprint in the local tracker). */
  id: string
  closed: boolean
  /** A link for people, when the tracker has one. */
  url?: string
  /** Set by `create` when another process filed the ticket first and this one is it. */
  existed?: boolean
}

/**
 * What a new ticket says.
 *
 * @example
 * ```ts
 * async function create({ fingerprint, title, body }: NewTicket): Promise<TicketRef> {
 *   const key = await jira.createIssue(title, body, [`fp-${fingerprint}`]) // labelled for find()
 *   return { id: key, closed: false }
 * }
 * ```
 */
export interface NewTicket {
  fingerprint: string
  title: string
  body: string
  report: Report
}

/**
 * What faultline needs from a ticket tracker: five calls, each a promise.
 * Write one for your own tracker and pass it as `tickets: { adapter }`.
 *
 * - `find` returns the oldest ticket carrying the fingerprint, open or closed
 *   (several app instances may have raced to create one: the oldest wins).
 * - `create` files a ticket that `find` will then return; a tracker that can
 *   refuse a duplicate itself returns the existing ticket with `existed: true`.
 * - `comment` adds a note; `reopen` reopens a closed ticket with a note.
 * - `remove`, optional, withdraws a duplicate this process just created and
 *   lost a race with; without it, the duplicate is closed with a note.
 *
 * Throw a `TicketError` with `permanent: true` for answers that retrying
 * will not change (a wrong API key, a missing project), so the transport can
 * say what to fix instead of hammering the tracker.
 *
 * @example
 * ```ts
 * const adapter: TicketAdapter = {
 *   name: 'jira',
 *   async find(fingerprint) { … },
 *   async create(ticket) { … return { id: key, closed: false } },
 *   async comment(ref, text) { … },
 *   async reopen(ref, text) { … },
 * }
 * ```
 */
export interface TicketAdapter {
  readonly name: string
  find(fingerprint: string): Promise<TicketRef | undefined>
  create(ticket: NewTicket): Promise<TicketRef>
  comment(ref: TicketRef, text: string): Promise<void>
  reopen(ref: TicketRef, text: string): Promise<void>
  remove?(ref: TicketRef): Promise<void>
  close?(ref: TicketRef, text: string): Promise<void>
}

/**
 * A tracker's refusal, with what to do about it.
 *
 * @example
 * ```ts
 * throw new TicketError('Redmine refused the API key (401): check the key', { permanent: true, status: 401 })
 * ```
 */
export class TicketError extends Error {
  override readonly name = 'TicketError'
  /** Read by shape, as Node's own errors. */
  readonly code = 'FAULTLINE_TICKET'
  readonly permanent: boolean
  readonly status?: number
  constructor(
    message: string,
    options: { permanent?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.permanent = options.permanent === true
    if (options.status !== undefined) this.status = options.status
  }
}
