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
import { HeldBackTickets, type HeldTickets } from './ceiling.js'
import { FirstReports } from './first-reports.js'
import { occurrenceOf, slim } from './reports.js'
import type { TicketOp } from './work.js'

const SCOPE = 'tickets'
const CEILING = 'tickets:ceiling'
// long enough for a slow tracker to file; a process that dies holding it blocks no one for longer
const CLAIM_MS = 10 * 60_000
const FILING_CHECKS = 10
const FILING_CHECK_MS = 500
// a window the ceiling's refusal ends may have gathered another process's occurrences meanwhile
const HELD_TAKES = 3

/** Options of the ticket throttle. */
export interface TicketThrottleOptions {
  /** How long later occurrences of one error are gathered into one comment. */
  windowMs: number
  /** New tickets per period, across the fleet when the coordination is shared. */
  maxPerPeriod: number
  periodMs: number
  /** At most this many windows wait to be taken, and as many whole first reports are kept… */
  maxFingerprints: number
  /** …within this many bytes. */
  maxHeldBytes: number
}

/** Where the throttle's decisions go. */
export interface TicketThrottleSink {
  /** A first occurrence the ceiling admitted: its ticket's work, under the claim, with the slot it took. */
  file(report: Report, claim: string | undefined, admittedAt: number | undefined): void
  /** An occurrence counted into its error's window: the window's comment carries it. */
  counted(report: Report): void
  /** An occurrence the ceiling held back: the summary ticket carries it. */
  held(report: Report): void
  /** A window's count, taken by this process: one comment for the fleet. */
  comment(op: Extract<TicketOp, { op: 'comment' }>): void
  heldBack(held: HeldTickets): void
  /** A window this process counted into was taken by another process, or gathered nothing. */
  countedElsewhere(fingerprint: string): void
}

/** The claim's key in the coordination. */
function claimKey(fingerprint: string): string {
  return `ticket:${fingerprint}`
}

/**
 * The ticket flood guard, one set of rules over the fleet's coordination:
 * this process's own state (answered at once, no promise per report) or the
 * shared store. An occurrence that opens its error's window claims the
 * error, so only one process files its ticket, and counts against the
 * ceiling (sliding, fleet-wide when shared); every later one, from every
 * process, is counted into the window, and at its end exactly one process
 * takes the count and comments. What the ceiling refuses is held back (its
 * window ended at once, so it files nothing by a comment) and summarised by
 * the process that held it.
 */
export class TicketThrottle {
  readonly #answers: CoordinationAnswers
  readonly #takes: WindowTakes
  readonly #work: BackgroundWork
  readonly #held: HeldBackTickets
  readonly #firsts: FirstReports

  constructor(
    private readonly options: TicketThrottleOptions,
    private readonly sink: TicketThrottleSink,
    coordination: FleetCoordination = new LocalCoordination(),
    warn: (err: Error) => void = () => {},
    now: () => number = Date.now,
  ) {
    this.#answers = answersOf(coordination)
    this.#takes = new WindowTakes(
      options.windowMs,
      (fp, start) => this.#take(fp, start),
      now,
      options.maxFingerprints,
    )
    this.#held = new HeldBackTickets((held) => sink.heldBack(held), now)
    this.#firsts = new FirstReports(options.maxFingerprints, options.maxHeldBytes)
    this.#work = storeWork('tickets', warn)
  }

  stats(): { windowed: number; heldReports: number; heldBytes: number; heldBack: number } {
    return {
      windowed: this.#takes.fingerprints,
      ...this.#firsts.stats(),
      heldBack: this.#held.heldBack,
    }
  }

  /** One occurrence: it opens its error's window (and files, or is held back), or counts into it. */
  add(report: Report): void {
    if (this.#held.repeat(report.fingerprint)) return this.sink.held(report)
    const answer = this.#gather(report)
    // this process's own state answers at once: a storm's report costs no promise
    if (!isPromise(answer)) return void this.#gathered(report, answer)
    this.#work.track(
      answer.then(
        (result) => this.#gathered(report, result),
        (err: unknown) => {
          // the store failed outright: the ticket's work goes ahead (the tracker's race settlement keeps one)
          this.#work.failed(err)
          return this.#admit(report, undefined, undefined)
        },
      ),
    )
  }

  /** An occurrence that joined an existing ticket: counted into the window gathering now, for the next comment. */
  join(report: Report): void {
    const joined = settle(
      this.#gather(report),
      // it opened a window (the last one was taken meanwhile): gathered once more, it counts in that window
      (result) =>
        result.opened
          ? settle(this.#gather(report), this.#armer(report), this.#failed)
          : this.#armer(report)(result),
      this.#failed,
    )
    detach(joined, (work) => this.#work.track(work))
  }

  #armer(report: Report): (result: GatherResult) => void {
    return (result) => this.#takes.arm(report.fingerprint, result.start)
  }

  readonly #failed = (err: unknown): void => this.#work.failed(err)

  #gather(report: Report): Answer<GatherResult> {
    return this.#answers.gather(
      SCOPE,
      report.fingerprint,
      () => JSON.stringify(slim(report)),
      occurrenceOf(report),
      this.options.windowMs,
    )
  }

  #gathered(report: Report, result: GatherResult): Answer<void> {
    if (!result.opened) return this.#counted(report, result.start)
    return settle(
      this.#answers.claim(claimKey(report.fingerprint), CLAIM_MS),
      (claim) =>
        claim
          ? this.#admit(report, claim, result.start)
          : // another process is filing this error's ticket right now: the occurrence is counted, not filed
            settle(
              this.#gather(report),
              (again) => {
                // the window it opened is this process's to take: a comment that re-files wants it whole
                this.#firsts.keep(report)
                this.#counted(report, again.start)
              },
              (err) => this.#work.failed(err),
            ),
      (err) => {
        this.#work.failed(err)
        return this.#admit(report, undefined, result.start)
      },
    )
  }

  #counted(report: Report, start: number): void {
    this.#takes.arm(report.fingerprint, start)
    this.sink.counted(report)
  }

  /** Counts a first occurrence against the ceiling: filed when admitted, held back when not. */
  #admit(report: Report, claim: string | undefined, start: number | undefined): Answer<void> {
    return settle(
      this.#answers.admit(CEILING, this.options.maxPerPeriod, this.options.periodMs),
      ({ admitted, freeAt }) =>
        admitted
          ? this.#file(report, claim, freeAt, start)
          : this.#holdBack(report, claim, freeAt, start),
      (err) => {
        this.#work.failed(err)
        return this.#file(report, claim, undefined, start)
      },
    )
  }

  #file(report: Report, claim: string | undefined, admittedAt?: number, start?: number): void {
    if (start !== undefined) this.#takes.arm(report.fingerprint, start)
    this.#firsts.keep(report)
    this.sink.file(report, claim, admittedAt)
  }

  #holdBack(report: Report, claim: string | undefined, freeAt: number, start?: number): void {
    if (claim) this.release(report.fingerprint, claim)
    this.#held.hold(report, freeAt)
    this.sink.held(report)
    // its window ends now: a comment at its end would file the ticket the ceiling refused
    if (start !== undefined) this.#endHeld(report, freeAt, start, HELD_TAKES)
  }

  #endHeld(report: Report, freeAt: number, start: number, tries: number): void {
    const ended = settle(
      this.#answers.take(SCOPE, report.fingerprint, start, this.options.windowMs),
      (gathered) => {
        if (!gathered) return
        // other processes counted into it meanwhile: held back too, and the window it reopened ends as well
        this.#held.hold(report, freeAt, gathered.count)
        if (tries > 1) this.#endHeld(report, freeAt, gathered.until, tries - 1)
      },
      (err) => this.#work.failed(err),
    )
    detach(ended, (work) => this.#work.track(work))
  }

  #take(fingerprint: string, start: number): void {
    const taken = settle(
      this.#answers.take(SCOPE, fingerprint, start, this.options.windowMs),
      (gathered) =>
        gathered
          ? this.sink.comment(this.#commentOf(fingerprint, gathered))
          : this.#over(fingerprint),
      (err) => this.#work.failed(err),
    )
    detach(taken, (work) => this.#work.track(work))
  }

  #over(fingerprint: string): void {
    this.#firsts.forget(fingerprint)
    this.sink.countedElsewhere(fingerprint)
  }

  #commentOf(fingerprint: string, gathered: Gathered): Extract<TicketOp, { op: 'comment' }> {
    return {
      op: 'comment',
      fingerprint,
      first: this.#firsts.whole(JSON.parse(gathered.first) as Report),
      count: gathered.count,
      since: new Date(gathered.since).toISOString(),
      last: new Date(gathered.until).toISOString(),
      occurrences: gathered.occurrences,
    }
  }

  /** Gives a ceiling slot back: the error had its ticket already, and the ceiling counts new tickets. */
  giveBack(admittedAt: number): void {
    detach(this.#answers.giveBack(CEILING, admittedAt), (work) => this.#work.track(work))
  }

  /** Gives the claim back once the ticket is filed or joined: a later regression claims afresh. */
  release(fingerprint: string, claim: string): void {
    detach(this.#answers.release(claimKey(fingerprint), claim), (work) => this.#work.track(work))
  }

  /**
   * For a comment that finds no ticket: claims the error before filing one,
   * and while another process holds the claim, waits for its ticket. Resolves
   * with the claim to file under, or undefined when the ticket appeared (or
   * the wait ran out: the tracker's race settlement decides).
   */
  async claimToFile(
    fingerprint: string,
    appeared: () => Promise<boolean>,
  ): Promise<string | undefined> {
    for (let check = 0; check < FILING_CHECKS; check++) {
      const claim = await this.#answers.claim(claimKey(fingerprint), CLAIM_MS)
      if (claim) return claim
      await new Promise((resolve) => setTimeout(resolve, FILING_CHECK_MS))
      if (await appeared()) return undefined
    }
    return undefined
  }

  /**
   * Ends what this process knows of now, for a flush or shutdown (`closing`:
   * windows counted into from now on are taken at once too): its windows are
   * taken and the held-back summary goes out. At once with this process's
   * own state; with a shared store, once its calls under way have settled.
   */
  flush(closing = false): void | Promise<void> {
    return flushWindows(this.#work, this.#takes, () => this.#held.flush(), closing)
  }
}
