/**
 * Capped exponential backoff with ±20 % jitter, so many clients of one
 * receiver do not come back in step: each `next()` waits twice as long as the
 * one before, up to `maxMs`, until `reset()` after a success.
 *
 * @example
 * ```ts
 * const backoff = new Backoff(250, 30_000)
 * setTimeout(reconnect, backoff.next())
 * ```
 */
export class Backoff {
  #current: number

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.#current = minMs
  }

  /** The delay to wait now; the next one doubles. */
  next(): number {
    const delay = this.#current * (0.8 + Math.random() * 0.4)
    this.#current = Math.min(this.#current * 2, this.maxMs)
    return delay
  }

  reset(): void {
    this.#current = this.minMs
  }
}
