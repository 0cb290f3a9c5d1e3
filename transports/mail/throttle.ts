import type { BackgroundWork } from '../delivery/background-work.js'
import type { Report } from '../../lib/report/report.js'
import {
  answersOf,
  detach,
  isPromise,
  settle,
  type Answer,
  type CoordinationAnswers,
} from '../../lib/store/answers.js'
import { LocalCoordination } from '../../lib/store/local-coordination.js'
import type { FleetCoordination, Gathered, GatherResult } from '../../lib/store/types.js'
import { flushWindows, storeWork } from '../delivery/throttle-work.js'
import { WindowTakes } from '../../lib/store/window-takes.js'
import { occurrenceOf, slim, summaryLineOf } from '../ticket/reports.js'

/** One occurrence kept for a digest: enough to find it again, nothing more. */
export interface Occurrence {
  id: string
  time: string
  url?: string
}

/** What a digest mail says: how many more times one fingerprint happened in a window. */
export interface Digest {
  fingerprint: string
  /** The report that opened the thread, for subject and threading. */
  first: Report
  count: number
  from: string
  to: string
  /** The first occurrences' ids (at most `MAX_LISTED`). */
  occurrences: Occurrence[]
  /** Distinct URLs, at most `MAX_LISTED`. */
  urls: string[]
}

/** What the ceiling held back in one period, for the summary mail. */
export interface HeldBack {
  /** Which budget held them: warnings have their own, so they never delay an error's mail. */
  budget: 'errors' | 'warnings'
  mails: number
  reports: number
  fingerprints: Array<{ fingerprint: string; message: string; reports: number }>
  from: string
  to: string
}

/** Options of the throttle. */
export interface MailThrottleOptions {
  /** How long later occurrences of one fingerprint are gathered into one digest. */
  windowMs: number
  /** At most this many mails about errors and tracebacks per ceiling period; the rest are counted into one summary. */
  maxPerPeriod: number
  /**
   * At most this many mails about warnings per period, counted apart, so a
   * scanner's probes never use up what a real traceback needs. Default a
   * third of `maxPerPeriod`, at least 1.
   */
  maxWarningsPerPeriod?: number
  /** The period the ceiling counts over: an hour by default. */
  periodMs: number
}

/** Where the throttle's decisions go. */
export interface MailThrottleSink {
  sendReport(report: Report): void
  sendDigest(digest: Digest): void
  sendHeldBack(held: HeldBack): void
  /** In a fleet: a window this process counted into was taken by another process, whose digest carries its reports. */
  countedElsewhere?(fingerprint: string): void
}

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

/**
 * The mail flood guard, one set of rules over the fleet's coordination: this
 * process's own state (answered at once) or the shared store. The first
 * occurrence of a fingerprint opens its window and is mailed at once; later
 * ones, from every process, are counted into that window, and at its end
 * exactly one process takes the count and sends the one digest; while they
 * keep coming each window ends in one digest. A ceiling caps mails per
 * sliding period; what it holds back is counted into one summary (per
 * process) when mail is possible again. Warnings have a ceiling of their own,
 * so a storm of probes never holds back the mail of a real traceback. Memory
 * stays bounded however long the storm.
 */
export class MailThrottle {
  readonly #answers: CoordinationAnswers
  readonly #takes: WindowTakes
  readonly #work: BackgroundWork
  readonly #errors: Budget
  readonly #warnings: Budget

  constructor(
    private readonly options: MailThrottleOptions,
    private readonly sink: MailThrottleSink,
    coordination: FleetCoordination = new LocalCoordination(),
    /** Where a failing store is said, once: the transport's `warn`. */
    warn: (err: Error) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    const warnings =
      options.maxWarningsPerPeriod ?? Math.max(1, Math.ceil(options.maxPerPeriod / 3))
    this.#errors = { name: 'errors', max: options.maxPerPeriod, held: undefined }
    this.#warnings = { name: 'warnings', max: warnings, held: undefined }
    this.#answers = answersOf(coordination)
    this.#takes = new WindowTakes(options.windowMs, (fp, start) => this.#take(fp, start), now)
    // nothing escapes: a sink or store that throws is said once, never raised into the app
    this.#work = storeWork('mail', warn, '; mails go out unshared')
  }

  /** Takes one report: mails it now when it opens its fingerprint's window, else counts it into the window. */
  add(report: Report): void {
    const answer = this.#answers.gather(
      SCOPE,
      report.fingerprint,
      () => JSON.stringify(slim(report)),
      occurrenceOf(report),
      this.options.windowMs,
    )
    // this process's own state answers at once: a storm's report costs no promise
    if (!isPromise(answer)) return void this.#gathered(report, answer)
    this.#work.track(
      answer.then(
        (result) => this.#gathered(report, result),
        (err: unknown) => {
          // the store failed outright: the alert goes out all the same (maybe twice in the fleet, never lost)
          this.#work.failed(err)
          return this.#mailIfAllowed(report)
        },
      ),
    )
  }

  #gathered(report: Report, result: GatherResult): Answer<void> {
    this.#takes.arm(report.fingerprint, result.start)
    return result.opened ? this.#mailIfAllowed(report) : undefined
  }

  #mailIfAllowed(report: Report): Answer<void> {
    return settle(
      this.#allow(1, report),
      (allowed) => (allowed ? this.sink.sendReport(report) : undefined),
      (err) => this.#work.failed(err),
    )
  }

  #take(fingerprint: string, start: number): void {
    const taken = settle(
      this.#answers.take(SCOPE, fingerprint, start, this.options.windowMs),
      (gathered) =>
        gathered ? this.#sendDigest(fingerprint, gathered) : this.#elsewhere(fingerprint),
      (err) => this.#work.failed(err),
    )
    detach(taken, (work) => this.#work.track(work))
  }

  /** A window this process counted into was taken by another process, or gathered nothing. */
  #elsewhere(fingerprint: string): void {
    this.sink.countedElsewhere?.(fingerprint)
  }

  #sendDigest(fingerprint: string, gathered: Gathered): Answer<void> {
    const first = JSON.parse(gathered.first) as Report
    return settle(
      this.#allow(gathered.count, first),
      (allowed) =>
        allowed ? this.sink.sendDigest(digestOf(fingerprint, first, gathered)) : undefined,
      (err) => this.#work.failed(err),
    )
  }

  #budgetOf(report: Report): Budget {
    return report.kind === 'warning' ? this.#warnings : this.#errors
  }

  #ceilingKey(budget: Budget): string {
    return `mail:ceiling:${budget.name}`
  }

  /** Counts a mail against its budget's ceiling; past it, holds the mail back for that budget's summary. */
  #allow(reports: number, report: Report): Answer<boolean> {
    const budget = this.#budgetOf(report)
    return settle(
      this.#answers.admit(this.#ceilingKey(budget), budget.max, this.options.periodMs),
      ({ admitted, freeAt }) => {
        if (!admitted) this.#hold(budget, reports, report, freeAt)
        return admitted
      },
      (err) => {
        this.#work.failed(err)
        return true
      },
    )
  }

  #hold(budget: Budget, reports: number, report: Report, freeAt: number): void {
    if (!budget.held) {
      // the summary goes out when the oldest counted mail leaves the period, i.e. when mail is possible again
      const timer = setTimeout(() => this.#sendHeldBack(budget), Math.max(0, freeAt - this.now()))
      timer.unref()
      budget.held = { mails: 0, reports: 0, since: this.now(), byFingerprint: new Map(), timer }
    }
    const held = budget.held
    held.mails++
    held.reports += reports
    const entry = held.byFingerprint.get(report.fingerprint)
    if (entry) entry.reports += reports
    else if (held.byFingerprint.size < MAX_HELD_FINGERPRINTS)
      held.byFingerprint.set(report.fingerprint, { message: summaryLineOf(report), reports })
  }

  #sendHeldBack(budget: Budget): void {
    const held = budget.held
    budget.held = undefined
    if (!held) return
    clearTimeout(held.timer)
    const fingerprints = [...held.byFingerprint].map(([fingerprint, v]) => ({ fingerprint, ...v }))
    fingerprints.sort((a, b) => b.reports - a.reports)
    // the summary is exempt from the ceiling, but counts in its period: it is what keeps the ceiling honest
    const counted = settle(
      this.#answers.admit(this.#ceilingKey(budget), budget.max, this.options.periodMs),
      () => undefined,
      (err) => this.#work.failed(err),
    )
    detach(counted, (work) => this.#work.track(work))
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
   * Ends what this process knows of now, for shutdown: the windows it counted
   * into are taken (a window another process already took gives nothing) and
   * the held-back summaries go out. At once with this process's own state;
   * with a shared store, once its calls under way have settled.
   */
  flush(): void | Promise<void> {
    return flushWindows(this.#work, this.#takes, () => this.#sendAllHeldBack())
  }

  #sendAllHeldBack(): void {
    this.#sendHeldBack(this.#errors)
    this.#sendHeldBack(this.#warnings)
  }
}

/** A window's digest: threaded under the window's first report. */
function digestOf(fingerprint: string, first: Report, gathered: Gathered): Digest {
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
