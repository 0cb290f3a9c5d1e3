// as many as the local coordination keeps: past it, the window seen longest ago is forgotten, which
// at worst alerts on it once more in an outage
const MAX_KNOWN = 20_000

/**
 * The gathering windows this process saw open on the shared store, each
 * until its length has passed since it was last seen. Redis opens a window
 * again only after that (a window that gathered is taken at its end and
 * reopened at once), so a window known open that the store cannot confirm (an
 * outage) or no longer holds (a failover to a replica that had not copied it
 * yet) is one whose first alert went out already.
 */
export class KnownWindows {
  readonly #until = new Map<string, number>()

  constructor(private readonly now: () => number = Date.now) {}

  /** The store answered for this window now. */
  saw(key: string, windowMs: number): void {
    // re-inserted, so the map's order is the order last seen and the first entry the one to forget
    this.#until.delete(key)
    if (this.#until.size >= MAX_KNOWN) this.#until.delete(this.#until.keys().next().value!)
    this.#until.set(key, this.now() + windowMs)
  }

  /** Whether this window was seen open less than its length ago. */
  isOpen(key: string): boolean {
    const until = this.#until.get(key)
    if (until === undefined) return false
    if (until > this.now()) return true
    this.#until.delete(key)
    return false
  }
}
