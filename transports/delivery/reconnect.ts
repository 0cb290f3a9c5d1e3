import { Backoff } from './backoff.js'

/**
 * A connection's way back after it dropped, shared by the plain stream and RELP: one attempt at a
 * time, after the backoff's next delay (from the shortest again once a connection is up), on a
 * timer that keeps no process alive.
 */
export class Reconnect {
  /** Attempts scheduled so far, for the transport's stats. */
  count = 0
  #timer: NodeJS.Timeout | undefined
  readonly #backoff: Backoff

  constructor(
    options: { minBackoffMs?: number; maxBackoffMs?: number },
    private readonly connect: () => void,
  ) {
    this.#backoff = new Backoff(options.minBackoffMs ?? 250, options.maxBackoffMs ?? 30_000)
  }

  /** Whether an attempt is waiting out its delay. */
  get waiting(): boolean {
    return this.#timer !== undefined
  }

  schedule(): void {
    this.count++
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.connect()
    }, this.#backoff.next())
    this.#timer.unref()
  }

  /** A connection is up: the next drop waits the shortest delay. */
  reset(): void {
    this.#backoff.reset()
  }

  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
