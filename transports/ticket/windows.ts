import type { Report } from '../../lib/report/report.js'
import { occurrenceOf, slim } from './reports.js'
import type { Track } from './work.js'

const MAX_LISTED = 50

/** What the windows are bounded by, and whom they tell when one ends with occurrences counted. */
export interface TicketWindowsOptions {
  windowMs: number
  maxFingerprints: number
  maxHeldBytes: number
  /** A window ended with occurrences counted: they become one comment. */
  ended(fingerprint: string, track: Track): void
}

/**
 * The ticket transport's batching windows, one per error taken to the
 * tracker: later occurrences are counted into their error's window, and what
 * it counted becomes one comment when it ends. At most `maxFingerprints` are
 * open, and they keep whole first reports only within `maxHeldBytes`.
 */
export class TicketWindows {
  readonly #tracks = new Map<string, Track>()
  readonly #o: TicketWindowsOptions
  #heldBytes = 0
  #heldReports = 0
  #closed = false

  constructor(options: TicketWindowsOptions) {
    this.#o = options
  }

  stats(): { windowed: number; heldReports: number; heldBytes: number } {
    return {
      windowed: this.#tracks.size,
      heldReports: this.#heldReports,
      heldBytes: this.#heldBytes,
    }
  }

  /** Counts a later occurrence into its error's open window; false when none is open. */
  count(report: Report): boolean {
    const track = this.#tracks.get(report.fingerprint)
    if (!track) return false
    track.count++
    track.last = report.time
    if (track.occurrences.length < MAX_LISTED) track.occurrences.push(occurrenceOf(report))
    return true
  }

  /** Opens the window of an error's first occurrence. */
  open(report: Report): void {
    if (this.#tracks.size >= this.#o.maxFingerprints) this.#endOldest()
    const fresh: Track = {
      ...this.#keep(report),
      count: 0,
      since: report.time,
      last: report.time,
      occurrences: [],
    }
    this.#tracks.set(report.fingerprint, fresh)
    this.#arm(report.fingerprint, fresh)
  }

  /** The first report as the window keeps it: whole within the byte budget, slim past it. */
  #keep(report: Report): Pick<Track, 'first' | 'bytes'> {
    const bytes = JSON.stringify(report).length
    if (this.#heldBytes + bytes > this.#o.maxHeldBytes) return { first: slim(report), bytes: 0 }
    this.#heldBytes += bytes
    this.#heldReports++
    return { first: report, bytes }
  }

  #forget(fingerprint: string, track: Track): void {
    if (track.timer) clearTimeout(track.timer)
    this.#tracks.delete(fingerprint)
    this.#heldBytes -= track.bytes
    if (track.bytes) this.#heldReports--
  }

  /** Too many windows open: the oldest ends now, its count goes out, and its error starts afresh if it comes again. */
  #endOldest(): void {
    const [fingerprint, track] = this.#tracks.entries().next().value!
    this.#forget(fingerprint, track)
    if (track.count) this.#o.ended(fingerprint, track)
  }

  #arm(fingerprint: string, track: Track): void {
    if (this.#closed) return
    track.timer = setTimeout(() => this.#end(fingerprint, track), this.#o.windowMs)
    track.timer.unref()
  }

  /** The window's end: what it counted becomes one comment, and a new window opens while they keep coming. */
  #end(fingerprint: string, track: Track): void {
    track.timer = undefined
    if (track.count === 0) return this.#forget(fingerprint, track)
    this.#o.ended(fingerprint, track)
    const { last } = track
    track.count = 0
    track.occurrences = []
    track.since = last
    this.#arm(fingerprint, track)
  }

  /** Ends every window now, for a flush: what they counted goes out. */
  endAll(): void {
    for (const [fingerprint, track] of this.#tracks) {
      if (track.timer) clearTimeout(track.timer)
      track.timer = undefined
      this.#end(fingerprint, track)
    }
  }

  /** Stops every window's timer; from now on no window ends by itself. */
  close(): void {
    this.#closed = true
    for (const track of this.#tracks.values()) if (track.timer) clearTimeout(track.timer)
  }
}
