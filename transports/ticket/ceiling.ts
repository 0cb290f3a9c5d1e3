import { createHash } from 'node:crypto'
import type { Report } from '../../lib/report/report.js'

/** What the ceiling held back in one period, for the summary ticket. */
export interface HeldTickets {
  /** Distinct errors that were not taken to the tracker. */
  errors: number
  /** How often they occurred. */
  occurrences: number
  /** Whether `errors` is an upper bound: past `MAX_TRACKED` fingerprints, repeats can no longer be told from new errors. */
  approximate: boolean
  /** The most frequent of them (at most `MAX_LISTED`, among the first `MAX_MESSAGES`), with a message each. */
  listed: Array<{ fingerprint: string; message: string; occurrences: number }>
  /** Where the held-back errors came from, for the summary's own report. */
  app: string
  host: string
  pid: number
  from: string
  to: string
}

/** Options of the ceiling. */
export interface TicketCeilingOptions {
  /** New errors taken to the tracker per period; the rest are counted into one summary ticket. */
  maxPerPeriod: number
  /** The period the ceiling counts over: an hour by default. */
  periodMs: number
}

interface Held {
  occurrences: number
  /** Occurrences by fingerprint, so repeats are not counted as new errors; at most `MAX_TRACKED` fingerprints. */
  byFingerprint: Map<string, number>
  /** Messages of the first `MAX_MESSAGES` fingerprints: all the summary lists. */
  messages: Map<string, string>
  /** Occurrences of fingerprints past `MAX_TRACKED`, each counted as an error of its own. */
  untracked: number
  first: Pick<Report, 'app' | 'host' | 'pid'>
  since: number
}

const MAX_LISTED = 20
const MAX_MESSAGES = 200
// a fingerprint is 16 characters: ten thousand of them cost about a megabyte
const MAX_TRACKED = 10_000
const MAX_MESSAGE = 200

/**
 * The ticket flood guard: at most `maxPerPeriod` new errors go to the tracker
 * per period (each files a ticket, or joins its ticket from an earlier run and
 * gives its slot back). The rest are held back, counted by fingerprint in
 * bounded memory, and summarised in one ticket when the period lets tickets
 * through again, or at shutdown.
 */
export class TicketCeiling {
  #taken: number[] = []
  #held: Held | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly options: TicketCeilingOptions,
    private readonly onHeldBack: (held: HeldTickets) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a first occurrence of an error is held back (and counted) rather than taken to the tracker. */
  holds(report: Report): boolean {
    const known = this.#held?.byFingerprint.get(report.fingerprint)
    if (known) {
      this.#held!.byFingerprint.set(report.fingerprint, known + 1)
      this.#held!.occurrences++
      return true
    }
    const now = this.now()
    while (this.#taken.length && this.#taken[0]! <= now - this.options.periodMs) this.#taken.shift()
    if (this.#taken.length < this.options.maxPerPeriod) {
      this.#taken.push(now)
      return false
    }
    this.#hold(report, now)
    return true
  }

  /** An error that turned out to have its ticket already gives its slot back: the ceiling counts new tickets. */
  refund(): void {
    this.#taken.pop()
  }

  /** How many distinct errors are held back now. */
  get heldBack(): number {
    return this.#held ? this.#held.byFingerprint.size + this.#held.untracked : 0
  }

  #hold(report: Report, now: number): void {
    if (!this.#held) {
      this.#held = {
        occurrences: 0,
        byFingerprint: new Map(),
        messages: new Map(),
        untracked: 0,
        first: { app: report.app, host: report.host, pid: report.pid },
        since: now,
      }
      // the summary goes when the oldest ticket taken leaves the period, i.e. when tickets can be filed again
      this.#timer = setTimeout(
        () => this.flush(),
        Math.max(0, this.#taken[0]! + this.options.periodMs - now),
      )
      this.#timer.unref()
    }
    this.#held.occurrences++
    if (this.#held.byFingerprint.size >= MAX_TRACKED) {
      this.#held.untracked++
      return
    }
    this.#held.byFingerprint.set(report.fingerprint, 1)
    if (this.#held.messages.size < MAX_MESSAGES)
      this.#held.messages.set(report.fingerprint, report.message.slice(0, MAX_MESSAGE))
  }

  /** Sends the summary of what is held back now, if anything is: when the period ends, and at shutdown. */
  flush(): void {
    const held = this.#held
    this.#held = undefined
    this.stop()
    if (!held) return
    const listed = [...held.messages].map(([fingerprint, message]) => ({
      fingerprint,
      message,
      occurrences: held.byFingerprint.get(fingerprint)!,
    }))
    listed.sort((a, b) => b.occurrences - a.occurrences)
    this.onHeldBack({
      errors: held.byFingerprint.size + held.untracked,
      approximate: held.untracked > 0,
      occurrences: held.occurrences,
      listed: listed.slice(0, MAX_LISTED),
      ...held.first,
      from: new Date(held.since).toISOString(),
      to: new Date(this.now()).toISOString(),
    })
  }

  /** Releases the summary's timer. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/** Keeps text inside a `<pre>` block: no closing tag can end it early. */
function preSafe(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * The summary ticket of what the ceiling held back: how many errors, how
 * often, and the most frequent ones. Filed past the ceiling: it is what keeps
 * the ceiling honest.
 *
 * @example
 * ```ts
 * const ticket = heldBackTicket(held, 30)
 * await adapter.create(ticket)
 * ```
 */
export function heldBackTicket(
  held: HeldTickets,
  maxPerHour: number,
): { fingerprint: string; title: string; body: string; report: Report } {
  const fingerprint = createHash('sha256')
    .update(`faultline:held-back:${held.host}:${held.pid}:${held.from}`)
    .digest('hex')
    .slice(0, 16)
  const title = `${held.approximate ? 'At most ' : ''}${held.errors} more distinct error(s) were held back by the ticket ceiling (${maxPerHour} new tickets per hour)`
  const others = held.errors - held.listed.length
  const list = held.listed.map(
    (e) => `${e.fingerprint}  ${e.occurrences}×  ${e.message.replace(/\s+/g, ' ')}`,
  )
  const body = [
    `Between ${held.from} and ${held.to}, ${held.errors} distinct error(s) occurring ${held.occurrences} time(s) got no ticket of their own: more new errors came than the ceiling lets through.`,
    `App: ${held.app}, host ${held.host}, pid ${held.pid}`,
    '',
    'The most frequent (fingerprint, occurrences, message):',
    '',
    `<pre>${preSafe([...list, ...(others > 0 ? [`… and ${others} more`] : [])].join('\n'))}</pre>`,
    '',
    'Each of them gets its own ticket when it occurs again once the ceiling lets tickets through. The full reports are in the other destinations (file, mail, syslog).',
  ].join('\n')
  const report: Report = {
    id: `held-${fingerprint}`,
    kind: 'error',
    level: 'warn',
    message: title,
    fingerprint,
    time: held.to,
    app: held.app,
    host: held.host,
    pid: held.pid,
  }
  return { fingerprint, title, body, report }
}
