// windows counted into and still to be taken: beyond this, the oldest is taken early
const MAX_WINDOWS = 2000

interface Pending {
  fingerprint: string
  start: number
  timer: NodeJS.Timeout
}

/**
 * When to take the gathering windows a transport counted into: each at its
 * end, at most `MAX_WINDOWS` waiting (memory stays bounded in a storm of
 * distinct errors), all at once for a flush. Every process that counted into
 * a window asks for it; the coordination gives it to one.
 */
export class WindowTakes {
  readonly #pending = new Map<string, Pending>()
  #closing = false

  constructor(
    private readonly windowMs: number,
    private readonly take: (fingerprint: string, start: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the window that started at `start` at its end (once, however often it is armed). */
  arm(fingerprint: string, start: number): void {
    const key = `${fingerprint}\u0000${start}`
    if (this.#pending.has(key)) return
    if (this.#pending.size >= MAX_WINDOWS) this.#takeNow(this.#pending.keys().next().value!)
    const timer = setTimeout(
      () => this.#takeNow(key),
      Math.max(0, start + this.windowMs - this.now()),
    )
    timer.unref()
    this.#pending.set(key, { fingerprint, start, timer })
    // a window counted into while closing is taken at once: nobody would take it later
    if (this.#closing) this.#takeNow(key)
  }

  /** Takes every window waiting now; `closing` takes the ones armed from now on at once too. */
  takeAll(closing = false): void {
    this.#closing ||= closing
    for (const key of [...this.#pending.keys()]) this.#takeNow(key)
  }

  #takeNow(key: string): void {
    const entry = this.#pending.get(key)
    if (!entry) return
    clearTimeout(entry.timer)
    this.#pending.delete(key)
    this.take(entry.fingerprint, entry.start)
  }
}
