import type { Report } from '../../lib/report/report.js'

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

interface Window {
  first: Report
  count: number
  start: number
  occurrences: Occurrence[]
  urls: Set<string>
  timer: NodeJS.Timeout
}

const MAX_LISTED = 50
const MAX_URLS = 20
const MAX_FINGERPRINTS = 2000

interface Budget {
  readonly name: HeldBack['budget']
  readonly max: number
  /** When each mail of the current period went out, oldest first. */
  sent: number[]
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

/**
 * The mail flood guard. The first occurrence of a fingerprint is mailed at
 * once; later ones within the window are counted into one digest at the
 * window's end, and while they keep coming each window ends in one digest. A
 * ceiling caps mails per period; what it holds back is counted into one
 * summary when the period ends. Warnings have a ceiling of their own, so a
 * storm of probes never holds back the mail of a real traceback. Memory
 * stays bounded however long the storm.
 */
export class MailThrottle {
  #windows = new Map<string, Window>()
  readonly #errors: Budget
  readonly #warnings: Budget

  constructor(
    private readonly options: MailThrottleOptions,
    private readonly sink: MailThrottleSink,
    private readonly now: () => number = Date.now,
  ) {
    const warnings =
      options.maxWarningsPerPeriod ?? Math.max(1, Math.ceil(options.maxPerPeriod / 3))
    this.#errors = { name: 'errors', max: options.maxPerPeriod, sent: [], held: undefined }
    this.#warnings = { name: 'warnings', max: warnings, sent: [], held: undefined }
  }

  /** Takes one report: mails it now, or counts it into its fingerprint's digest. */
  add(report: Report): void {
    const window = this.#windows.get(report.fingerprint)
    if (window) {
      window.count++
      if (window.occurrences.length < MAX_LISTED)
        window.occurrences.push({
          id: report.id,
          time: report.time,
          ...(report.request ? { url: report.request.url } : {}),
        })
      if (report.request && window.urls.size < MAX_URLS) window.urls.add(report.request.url)
      return
    }
    if (this.#windows.size >= MAX_FINGERPRINTS) this.#flushOldest()
    this.#openWindow(report, this.now())
    if (this.#allow(1, report)) this.sink.sendReport(report)
  }

  #openWindow(first: Report, start: number): void {
    const timer = setTimeout(() => this.#closeWindow(first.fingerprint), this.options.windowMs)
    timer.unref()
    this.#windows.set(first.fingerprint, {
      first,
      count: 0,
      start,
      occurrences: [],
      urls: new Set(),
      timer,
    })
  }

  #closeWindow(fingerprint: string): void {
    const window = this.#windows.get(fingerprint)
    if (!window) return
    clearTimeout(window.timer)
    this.#windows.delete(fingerprint)
    if (window.count === 0) return
    const end = this.now()
    if (this.#allow(window.count, window.first)) {
      this.sink.sendDigest({
        fingerprint,
        first: window.first,
        count: window.count,
        from: new Date(window.start).toISOString(),
        to: new Date(end).toISOString(),
        occurrences: window.occurrences,
        urls: [...window.urls],
      })
    }
    // a storm that goes on keeps its thread: the next window also ends in a digest
    this.#openWindow(window.first, end)
  }

  #flushOldest(): void {
    const oldest = this.#windows.keys().next()
    if (!oldest.done) this.#closeWindow(oldest.value)
  }

  #budgetOf(report: Report): Budget {
    return report.kind === 'warning' ? this.#warnings : this.#errors
  }

  /** Counts a mail against its budget's ceiling; past it, holds the mail back for that budget's summary. */
  #allow(reports: number, report: Report): boolean {
    const budget = this.#budgetOf(report)
    const now = this.now()
    while (budget.sent.length && budget.sent[0]! <= now - this.options.periodMs) budget.sent.shift()
    if (budget.sent.length < budget.max) {
      budget.sent.push(now)
      return true
    }
    if (!budget.held) {
      // the summary goes out when the oldest counted mail leaves the period, i.e. when mail is possible again
      const wait = Math.max(0, budget.sent[0]! + this.options.periodMs - now)
      const timer = setTimeout(() => this.#sendHeldBack(budget), wait)
      timer.unref()
      budget.held = { mails: 0, reports: 0, since: now, byFingerprint: new Map(), timer }
    }
    const held = budget.held
    held.mails++
    held.reports += reports
    const entry = held.byFingerprint.get(report.fingerprint)
    if (entry) entry.reports += reports
    else if (held.byFingerprint.size < MAX_URLS)
      held.byFingerprint.set(report.fingerprint, { message: report.message, reports })
    return false
  }

  #sendHeldBack(budget: Budget): void {
    const held = budget.held
    budget.held = undefined
    if (!held) return
    clearTimeout(held.timer)
    const fingerprints = [...held.byFingerprint].map(([fingerprint, v]) => ({ fingerprint, ...v }))
    fingerprints.sort((a, b) => b.reports - a.reports)
    // the summary is exempt from the ceiling: it is what keeps the ceiling honest
    budget.sent.push(this.now())
    this.sink.sendHeldBack({
      budget: budget.name,
      mails: held.mails,
      reports: held.reports,
      fingerprints,
      from: new Date(held.since).toISOString(),
      to: new Date(this.now()).toISOString(),
    })
  }

  /** Ends every window and period now, sending what they gathered: for shutdown. */
  flush(): void {
    for (const fingerprint of [...this.#windows.keys()]) {
      const window = this.#windows.get(fingerprint)!
      this.#closeWindow(fingerprint)
      const reopened = this.#windows.get(fingerprint)
      if (reopened && reopened !== window) {
        clearTimeout(reopened.timer)
        this.#windows.delete(fingerprint)
      }
    }
    this.#sendHeldBack(this.#errors)
    this.#sendHeldBack(this.#warnings)
  }
}
