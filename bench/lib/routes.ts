/**
 * The routes every contender serves and what a contender reports when it
 * stops: shared by the runner, the smoke test and the contenders, and free of
 * side effects, so the test process can import it.
 */
export const ROUTES = ['/ok', '/missing', '/boom', '/async-boom', '/hand'] as const
export type Route = (typeof ROUTES)[number]

/** What a contender sends back when it stops. */
export interface Evidence {
  contender: string
  /** Requests the server saw, per path (counted on the http server, so every contender pays the same). */
  requests: Record<string, number>
  /** Bytes put in place after the load stopped: what was still unwritten at that moment. */
  unwrittenBytes: number
  /** How long the contender's own close/flush took. */
  closeMs: number
  /** What the contender recorded: log lines per level, reports per kind, mails, events. */
  counts: Record<string, number>
  /** Incident ids the contender can find again (faultline only): the ids in its log file, distinct. */
  ids?: string[]
}
