// windows counted into and still to be taken, by default: beyond this, the oldest is taken early
const MAX_WINDOWS = 2000

/**
 * When to take the gathering windows a transport counted into: each at its
 * end, at most `MAX_WINDOWS` waiting (memory stays bounded in a storm of
 * distinct errors), all at once for a flush. Every process that counted into
 * a window asks for it; the coordination gives it to one.
 */
export class WindowTakes {
  // by fingerprint, then start: a storm's every report finds its window armed in two lookups, no key built
  readonly #pending = new Map<string, Map<number, NodeJS.Timeout>>()
  #size = 0
  #closing = false

  constructor(
    private readonly windowMs: number,
    private readonly take: (fingerprint: string, start: number) => void,
    private readonly now: () => number = Date.now,
    /** At most this many windows wait: the ticket transport's `maxFingerprints`. */
    private readonly maxWindows = MAX_WINDOWS,
  ) {}

  /** How many errors have a window waiting to be taken. */
  get fingerprints(): number {
    return this.#pending.size
  }

  /** Takes the window that started at `start` at its end (once, however often it is armed). */
  arm(fingerprint: string, start: number): void {
    let starts = this.#pending.get(fingerprint)
    if (starts?.has(start)) return
    if (this.#size >= this.maxWindows) this.#takeOldest()
    const timer = setTimeout(
      () => this.#takeNow(fingerprint, start),
      Math.max(0, start + this.windowMs - this.now()),
    )
    timer.unref()
    if (!starts) this.#pending.set(fingerprint, (starts = new Map()))
    starts.set(start, timer)
    this.#size++
    // a window counted into while closing is taken at once: nobody would take it later
    if (this.#closing) this.#takeNow(fingerprint, start)
  }

  /** Takes every window waiting now; `closing` takes the ones armed from now on at once too. */
  takeAll(closing = false): void {
    this.#closing ||= closing
    for (const [fingerprint, starts] of [...this.#pending])
      for (const start of [...starts.keys()]) this.#takeNow(fingerprint, start)
  }

  #takeOldest(): void {
    const [fingerprint, starts] = this.#pending.entries().next().value!
    this.#takeNow(fingerprint, starts.keys().next().value!)
  }

  #takeNow(fingerprint: string, start: number): void {
    const starts = this.#pending.get(fingerprint)
    const timer = starts?.get(start)
    if (!starts || !timer) return
    clearTimeout(timer)
    starts.delete(start)
    if (!starts.size) this.#pending.delete(fingerprint)
    this.#size--
    this.take(fingerprint, start)
  }
}
