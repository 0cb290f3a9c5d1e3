import type { Report } from './report.js'

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
  /** At most this many mails per ceiling period; the rest are counted into one summary. */
  maxPerPeriod: number
  /** The period the ceiling counts over: an hour by default. */
  periodMs: number
}

/** Where the throttle's decisions go. */
export interface MailThrottleSink {
  sendReport(report: Report): void
  sendDigest(digest: Digest): void
  sendHeldBack(held: HeldBack): void
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

/**
 * The mail flood guard. The first occurrence of a fingerprint is mailed at
 * once; later ones within the window are counted into one digest at the
 * window's end, and while they keep coming each window ends in one digest. A
 * ceiling caps mails per period; what it holds back is counted into one
 * summary when the period ends. Memory stays bounded however long the storm.
 */
export class MailThrottle {
  #windows = new Map<string, Window>()
  #sent: number[] = []
  #held: { mails: number; reports: number; byFingerprint: Map<string, { message: string; reports: number }> } | undefined
  #heldTimer: NodeJS.Timeout | undefined
  #heldSince = 0

  constructor(
    private readonly options: MailThrottleOptions,
    private readonly sink: MailThrottleSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one report: mails it now, or counts it into its fingerprint's digest. */
  add(report: Report): void {
    const window = this.#windows.get(report.fingerprint)
    if (window) {
      window.count++
      if (window.occurrences.length < MAX_LISTED) window.occurrences.push({ id: report.id, time: report.time, ...(report.request ? { url: report.request.url } : {}) })
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
    this.#windows.set(first.fingerprint, { first, count: 0, start, occurrences: [], urls: new Set(), timer })
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

  /** Counts a mail against the ceiling; past it, holds the mail back for the summary. */
  #allow(reports: number, report: Report): boolean {
    const now = this.now()
    while (this.#sent.length && this.#sent[0]! <= now - this.options.periodMs) this.#sent.shift()
    if (this.#sent.length < this.options.maxPerPeriod) {
      this.#sent.push(now)
      return true
    }
    if (!this.#held) {
      this.#held = { mails: 0, reports: 0, byFingerprint: new Map() }
      this.#heldSince = now
      // the summary goes out when the oldest counted mail leaves the period, i.e. when mail is possible again
      const wait = Math.max(0, this.#sent[0]! + this.options.periodMs - now)
      this.#heldTimer = setTimeout(() => this.#sendHeldBack(), wait)
      this.#heldTimer.unref()
    }
    this.#held.mails++
    this.#held.reports += reports
    const entry = this.#held.byFingerprint.get(report.fingerprint)
    if (entry) entry.reports += reports
    else if (this.#held.byFingerprint.size < MAX_URLS) this.#held.byFingerprint.set(report.fingerprint, { message: report.message, reports })
    return false
  }

  #sendHeldBack(): void {
    const held = this.#held
    this.#held = undefined
    if (this.#heldTimer) clearTimeout(this.#heldTimer)
    this.#heldTimer = undefined
    if (!held) return
    const fingerprints = [...held.byFingerprint].map(([fingerprint, v]) => ({ fingerprint, ...v }))
    fingerprints.sort((a, b) => b.reports - a.reports)
    // the summary is exempt from the ceiling: it is what keeps the ceiling honest
    this.#sent.push(this.now())
    this.sink.sendHeldBack({ mails: held.mails, reports: held.reports, fingerprints, from: new Date(this.#heldSince).toISOString(), to: new Date(this.now()).toISOString() })
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
    this.#sendHeldBack()
  }
}
