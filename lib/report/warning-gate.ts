/**
 * The warning limit as the outcome reporter applies it: which client a
 * warning counts against, whether it goes out now, later (once the fleet's
 * store decided) or never, and the summary of what was held back. It lives
 * apart from outcome-reporter.ts, which classifies and builds reports, because
 * a scan's flood of warnings is its own policy with its own state (the
 * per-client budgets here and, with a shared store, across the fleet).
 */
import type { Request } from 'express'
import type { NoticeChannel } from '../notices.js'
import type { FleetCoordination } from '../store/types.js'
import { buildReport, type ReportContext } from './build-report.js'
import { createIncidentId } from './incident-id.js'
import type { Report } from './report.js'
import { FleetWarningLimit, WarningLimiter, type DroppedWarnings } from './warning-limiter.js'

/** The budgets of one instance's warnings: this process's, and the fleet's with a shared store. */
export class WarningGate {
  readonly #limiter: WarningLimiter
  readonly #fleetLimit: FleetWarningLimit | undefined

  constructor(
    limit: { perClient: number; windowMs: number },
    onDropped: (dropped: DroppedWarnings) => void,
    coordination?: FleetCoordination,
    say?: NoticeChannel,
  ) {
    this.#limiter = new WarningLimiter(limit.perClient, limit.windowMs, onDropped)
    this.#fleetLimit = coordination
      ? new FleetWarningLimit(this.#limiter, coordination, limit.perClient, limit.windowMs, say)
      : undefined
  }

  /** Whether a warning may be reported later than it is passed (the fleet decides through the store). */
  get defers(): boolean {
    return this.#fleetLimit !== undefined
  }

  /** Runs `report` for a warning the budget allows: at once, once the fleet decided, or never. */
  pass(req: Request, family: string, report: () => void): void {
    const client = clientOf(req)
    if (this.#fleetLimit) return this.#fleetLimit.decide(family, client, report)
    if (this.#limiter.allow(family, client)) report()
  }

  /**
   * Ends the window: what was held back is summarised now. Resolves once the
   * fleet's decisions still waiting on the store are in (they are summarised too).
   */
  flush(): Promise<void> {
    const settled = this.#fleetLimit?.close()
    this.#limiter.flush()
    return settled ?? Promise.resolve()
  }
}

/** The warning that says how many warnings the limit held back, and from whom. */
export function summarizeDropped(context: ReportContext, dropped: DroppedWarnings): Report {
  const listed = dropped.clients
    .slice(0, 5)
    .map((c) => `${c.family} from ${c.client}: ${c.count}`)
    .join('; ')
  const report = buildReport(context, {
    id: createIncidentId(),
    kind: 'warning',
    hasError: false,
    family: 'rate-limit',
  })
  report.message = `${dropped.total} warnings held back by the rate limit (${listed})`
  report.dropped = dropped
  return report
}

/**
 * The client a warning budget is kept for: `req.ip`, which follows the app's
 * 'trust proxy'. With Express's default (no proxy trusted) that is the
 * socket's address, read directly: `req.ip` parses X-Forwarded-For on every
 * read, and a scan's every 404 asks.
 */
function clientOf(req: Request): string {
  try {
    const trust = (req.app as { get?: (name: string) => unknown } | undefined)?.get?.(
      'trust proxy fn',
    )
    if (typeof trust === 'function' && trust.name === 'trustNone')
      return req.socket?.remoteAddress ?? '?'
    return req.ip ?? req.socket?.remoteAddress ?? '?'
  } catch {
    return req.socket?.remoteAddress ?? '?'
  }
}
