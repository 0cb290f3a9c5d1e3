import type { Report } from '../../lib/report/report.js'
import type { FleetCoordination, Gathered } from '../../lib/store/types.js'
import { slim } from '../ticket/reports.js'
import type { HeldBack, MailThrottleOptions, MailThrottleSink } from './throttle.js'
import { BackgroundWork } from '../../lib/delivery/background-work.js'

interface Budget {
  readonly name: HeldBack['budget']
  readonly max: number
  held:
    | {
        mails: number
        reports: number
        since: number
        byFingerprint: Map<string, { message: string; reports: number }>
        timer: NodeJS.Timeout
      }
    | undefined
}

const SCOPE = 'mail'
const MAX_HELD_FINGERPRINTS = 20
// windows this process gathered into and still has to take: beyond this, the oldest is taken early
const MAX_WINDOWS = 2000

/** Why a fleet call failed, for the one line that says so. */
function reasonOf(err: unknown): string {
  return String((err as { message?: unknown })?.message ?? err)
}

/**
 * The mail flood guard for a fleet: the same rules as `MailThrottle`, kept in
 * the shared store. The process whose occurrence opens a fingerprint's
 * window mails it; every process counts its later occurrences into that
 * window, and at the window's end exactly one of them takes the fleet's
 * counts and sends the one digest. The hourly ceiling counts the fleet's
 * mails; what it holds back is summarised by each process for itself.
 */
export class FleetMailThrottle {
  readonly #timers = new Map<
    string,
    { fingerprint: string; start: number; timer: NodeJS.Timeout }
  >()
  readonly #work: BackgroundWork
  readonly #errors: Budget
  readonly #warnings: Budget

  constructor(
    private readonly options: MailThrottleOptions,
    private readonly sink: MailThrottleSink,
    private readonly coordination: FleetCoordination,
    /** Where a failing store is said, once: the transport's `warn`. */
    private readonly warn: (err: Error) => void,
    private readonly now: () => number = Date.now,
  ) {
    const warnings =
      options.maxWarningsPerPeriod ?? Math.max(1, Math.ceil(options.maxPerPeriod / 3))
    this.#errors = { name: 'errors', max: options.maxPerPeriod, held: undefined }
    this.#warnings = { name: 'warnings', max: warnings, held: undefined }
    // nothing escapes: a sink or store that throws is said once, never raised into the app
    this.#work = new BackgroundWork((err) =>
      this.warn(
        new Error(`the shared store failed for mail (${reasonOf(err)}); mails go out unshared`),
      ),
    )
  }

  /** Takes one report: counted into its fingerprint's fleet window, mailed now when it opens one. */
  add(report: Report): void {
    this.#work.track(this.#gather(report))
  }

  async #gather(report: Report): Promise<void> {
    const occurrence = {
      id: report.id,
      time: report.time,
      ...(report.request ? { url: report.request.url } : {}),
    }
    let result
    try {
      result = await this.coordination.gather(
        SCOPE,
        report.fingerprint,
        JSON.stringify(slim(report)),
        occurrence,
        this.options.windowMs,
      )
    } catch (err) {
      // the store failed outright: the alert goes out all the same (maybe twice in the fleet, never lost)
      this.#work.failed(err)
      if (await this.#allow(1, report)) this.sink.sendReport(report)
      return
    }
    this.#armTake(report.fingerprint, result.start)
    if (result.opened && (await this.#allow(1, report))) this.sink.sendReport(report)
  }

  /** Every process that counted into a window asks for it at its end; the store gives it to one. */
  #armTake(fingerprint: string, start: number): void {
    const key = `${fingerprint}\u0000${start}`
    if (this.#timers.has(key)) return
    if (this.#timers.size >= MAX_WINDOWS) {
      const [oldest] = this.#timers.keys()
      this.#takeNow(oldest!)
    }
    const wait = Math.max(0, start + this.options.windowMs - this.now())
    const timer = setTimeout(() => this.#takeNow(key), wait)
    timer.unref()
    this.#timers.set(key, { fingerprint, start, timer })
  }

  #takeNow(key: string): void {
    const entry = this.#timers.get(key)
    if (!entry) return
    clearTimeout(entry.timer)
    this.#timers.delete(key)
    this.#work.track(this.#take(entry.fingerprint, entry.start))
  }

  async #take(fingerprint: string, start: number): Promise<void> {
    const gathered = await this.coordination.take(SCOPE, fingerprint, start, this.options.windowMs)
    if (!gathered) return this.sink.countedElsewhere?.(fingerprint)
    const first = JSON.parse(gathered.first) as Report
    if (await this.#allow(gathered.count, first))
      this.sink.sendDigest(digestOf(fingerprint, first, gathered))
  }

  /** Counts a mail against the fleet's ceiling; past it, this process holds it back for its own summary. */
  async #allow(reports: number, report: Report): Promise<boolean> {
    const budget = report.kind === 'warning' ? this.#warnings : this.#errors
    const { periodMs } = this.options
    const bucket = Math.floor(this.now() / periodMs)
    let sent: number
    try {
      sent = await this.coordination.countInWindow(
        `mail:ceiling:${budget.name}:${bucket}`,
        periodMs,
      )
    } catch (err) {
      this.#work.failed(err)
      return true
    }
    if (sent <= budget.max) return true
    this.#hold(budget, reports, report, (bucket + 1) * periodMs)
    return false
  }

  #hold(budget: Budget, reports: number, report: Report, periodEnd: number): void {
    if (!budget.held) {
      // the summary goes out when the fleet's period ends, i.e. when mail is possible again
      const timer = setTimeout(
        () => this.#sendHeldBack(budget),
        Math.max(0, periodEnd - this.now()),
      )
      timer.unref()
      budget.held = { mails: 0, reports: 0, since: this.now(), byFingerprint: new Map(), timer }
    }
    const held = budget.held
    held.mails++
    held.reports += reports
    const entry = held.byFingerprint.get(report.fingerprint)
    if (entry) entry.reports += reports
    else if (held.byFingerprint.size < MAX_HELD_FINGERPRINTS)
      held.byFingerprint.set(report.fingerprint, { message: report.message, reports })
  }

  #sendHeldBack(budget: Budget): void {
    const held = budget.held
    budget.held = undefined
    if (!held) return
    clearTimeout(held.timer)
    const fingerprints = [...held.byFingerprint].map(([fingerprint, v]) => ({ fingerprint, ...v }))
    fingerprints.sort((a, b) => b.reports - a.reports)
    // the summary is exempt from the ceiling: it is what keeps the ceiling honest
    this.sink.sendHeldBack({
      budget: budget.name,
      mails: held.mails,
      reports: held.reports,
      fingerprints,
      from: new Date(held.since).toISOString(),
      to: new Date(this.now()).toISOString(),
    })
  }

  /**
   * Ends what this process knows of now: its store calls settle, the windows
   * it counted into are taken (a window another process already took gives
   * nothing), and the held-back summaries go out. For shutdown.
   */
  async flush(): Promise<void> {
    await this.#work.settled()
    for (const key of [...this.#timers.keys()]) this.#takeNow(key)
    await this.#work.settled()
    this.#sendHeldBack(this.#errors)
    this.#sendHeldBack(this.#warnings)
  }
}

/** The digest of a fleet window, in the terms of the local one: threaded under the window's first report. */
function digestOf(
  fingerprint: string,
  first: Report,
  gathered: Gathered,
): Parameters<MailThrottleSink['sendDigest']>[0] {
  return {
    fingerprint,
    first,
    count: gathered.count,
    from: new Date(gathered.since).toISOString(),
    to: new Date(gathered.until).toISOString(),
    occurrences: gathered.occurrences,
    urls: gathered.urls,
  }
}
