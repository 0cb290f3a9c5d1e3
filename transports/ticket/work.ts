import type { TransportStats } from '../../lib/contract/transport-contract.js'
import type { Report } from '../../lib/report/report.js'
import type { HeldTickets } from './ceiling.js'
import type { TicketRef } from './adapter.js'
import type { TicketOccurrence } from './format.js'

/**
 * What the transport did, for health checks and tests: the common counts
 * count tracker operations (a ticket's work, a comment, a summary), then
 * what they did.
 *
 * @example
 * ```ts
 * const tickets = new TicketTransport({ url: 'local:var/tickets' })
 * createFaultline({ transports: [tickets] })
 * const { created, heldBack }: TicketStats = tickets.stats() // heldBack: past ceiling.max
 * console.log(`${created} tickets filed, ${heldBack} errors counted into summary tickets`)
 * ```
 */
export interface TicketStats extends TransportStats {
  created: number
  comments: number
  reopened: number
  /** Errors whose window is open, and how many of them hold their first report whole, in how many bytes. */
  windowed: number
  heldReports: number
  heldBytes: number
  /** Distinct errors the ceiling held back (in all), and summary tickets filed for them. */
  heldBack: number
  summaries: number
}

/** One unit of tracker work, as the spool keeps it. */
export type TicketOp =
  /** `created`: the ticket an earlier attempt of this same work filed before it failed, so a retry files no second. */
  /** `claim`: in a fleet, the token of the fingerprint's claim, given back once the work is done. */
  /** `admittedAt`: when the ceiling admitted it, so the slot goes back if the error had its ticket already. */
  | {
      op: 'ensure'
      report: Report
      created?: TicketRef
      claim?: string
      admittedAt?: number | undefined
    }
  | {
      op: 'comment'
      fingerprint: string
      first: Report
      count: number
      since: string
      last: string
      occurrences: TicketOccurrence[]
    }
  | { op: 'summary'; held: HeldTickets }
