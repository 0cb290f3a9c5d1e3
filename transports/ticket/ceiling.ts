import { createHash } from 'node:crypto'
import type { Report } from '../../lib/report/report.js'
import { summaryLineOf } from './reports.js'

/** What the ceiling held back in one period, for the summary ticket. */
export interface HeldTickets {
  /** Distinct errors that were not taken to the tracker. */
  errors: number
  /** How often they occurred. */
  occurrences: number
  /** Whether `errors` is an upper bound: past `MAX_TRACKED` fingerprints, repeats can no longer be told from new errors. */
  approximate: boolean
  /** The most frequent of them (at most `MAX_LISTED`, among the first `MAX_MESSAGES`), each with its message and request on one line. */
  listed: Array<{ fingerprint: string; message: string; occurrences: number }>
  /** Where the held-back errors came from, for the summary's own report. */
  app: string
  host: string
  pid: number
  from: string
  to: string
}

interface Held {
  occurrences: number
  /** Occurrences by fingerprint, so repeats are not counted as new errors; at most `MAX_TRACKED` fingerprints. */
  byFingerprint: Map<string, number>
  /** Summary lines of the first `MAX_MESSAGES` fingerprints: all the summary lists. */
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

/**
 * What this process's ticket ceiling held back, counted by fingerprint in
 * bounded memory, and summarised in one ticket when the ceiling lets tickets
 * through again (`freeAt` of the refusal that started it), or at shutdown.
 * Whether to hold is the ceiling's answer (`admit`), not this log's.
 */
export class HeldBackTickets {
  #held: Held | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly onHeldBack: (held: HeldTickets) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a repeat of an error held back already; false when it is not held back. */
  repeat(fingerprint: string): boolean {
    const held = this.#held
    const known = held?.byFingerprint.get(fingerprint)
    if (!known) return false
    held!.byFingerprint.set(fingerprint, known + 1)
    held!.occurrences++
    return true
  }

  /** How many distinct errors are held back now. */
  get heldBack(): number {
    return this.#held ? this.#held.byFingerprint.size + this.#held.untracked : 0
  }

  /** Holds back a first occurrence the ceiling refused; its summary goes at `freeAt`. */
  hold(report: Report, freeAt: number, occurrences = 1): void {
    if (this.repeat(report.fingerprint)) {
      this.#held!.occurrences += occurrences - 1
      return
    }
    const now = this.now()
    if (!this.#held) {
      this.#held = {
        occurrences: 0,
        byFingerprint: new Map(),
        messages: new Map(),
        untracked: 0,
        first: { app: report.app, host: report.host, pid: report.pid },
        since: now,
      }
      this.#timer = setTimeout(() => this.flush(), Math.max(0, freeAt - now))
      this.#timer.unref()
    }
    this.#held.occurrences += occurrences
    if (this.#held.byFingerprint.size >= MAX_TRACKED) {
      this.#held.untracked++
      return
    }
    this.#held.byFingerprint.set(report.fingerprint, occurrences)
    if (this.#held.messages.size < MAX_MESSAGES)
      this.#held.messages.set(report.fingerprint, summaryLineOf(report))
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
