/**
 * The counts every faultline transport gives from `stats()`, named alike, so
 * a health check reads them the same way whichever transport it asks.
 * A transport may add its own fields after these, declared in its own stats
 * type (`SyslogStats`, `TicketStats`, `FileStats`); `faultline.stats()` reads
 * any transport whose `stats()` answers this shape, the app's own included.
 *
 * @example
 * ```ts
 * class AuditTransport extends TransportStream {
 *   readonly name = 'audit'
 *   stats(): TransportStats { return { delivered: this.sent, queued: 0, spooled: 0, retried: 0, dropped: 0 } }
 * }
 * ```
 */
export interface TransportStats {
  /** Units delivered: lines written, messages sent, mails handed to the server, tracker calls done. */
  delivered: number
  /** Units waiting in memory. */
  queued: number
  /** Units the spool holds for the next start. */
  spooled: number
  /** Failed attempts, each retried. */
  retried: number
  /** Units given up: queue or spool full, refused for good, or retried too long. */
  dropped: number
}

/**
 * What faultline's transports add to winston's contract, and what
 * `Faultline` looks for on any transport it is given (each method is
 * optional there; the built-in transports have them all). Like winston's own
 * transports, they emit `logged` with the `info` once it is delivered and
 * `warn` with an `Error` when delivery fails.
 *
 * @example
 * ```ts
 * class AuditTransport extends TransportStream implements ReportTransport {
 *   readonly name = 'audit'
 *   logSync(info: Record<string, unknown>): void { appendFileSync('audit.log', `${JSON.stringify(info)}\n`) }
 * }
 * ```
 */
export interface ReportTransport {
  /** How `faultline.stats()` and faultline's own warnings name the transport. */
  readonly name: string
  /** For a process about to die: the info is on disk (written or spooled) before this returns. */
  logSync?(info: Record<string, unknown>): void
  /** Sends what waits, up to `timeoutMs`; what is left stays spooled. */
  flush?(timeoutMs: number): Promise<void>
  stats?(): TransportStats
  /** Stops delivery within its own bound; what is owed stays in the spool. Safe to call twice. */
  close?(): void | Promise<void>
}

/**
 * The warning for units still owed when a transport shuts down, or
 * `undefined` when nothing is owed.
 *
 * @example
 * ```ts
 * undeliveredAtShutdown({ queued: 2, spooled: 2 }, 'mail(s) to smtp://mail:587')
 * // Error: 2 mail(s) to smtp://mail:587 were still undelivered at shutdown; they wait in the spool for the next start
 * ```
 */
export function undeliveredAtShutdown(
  counts: { queued: number; spooled: number },
  what: string,
): Error | undefined {
  if (!counts.queued) return undefined
  return new Error(
    `${counts.queued} ${what} were still undelivered at shutdown${counts.spooled ? '; they wait in the spool for the next start' : ''}`,
  )
}
