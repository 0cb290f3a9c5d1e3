import type { Spool, SpoolEntry } from './spool.js'
import { Backoff } from './backoff.js'
import type { TransportStats } from '../../lib/contract/transport-contract.js'
import { FifoMap } from './fifo-map.js'

/** Options of a delivery line. */
export interface DeliveryOptions<T> {
  /** Sends one unit; resolves once it is delivered. */
  send: (value: T, key?: string) => Promise<void>
  /** Where owed units survive a crash or a restart. */
  spool?: Spool<T>
  /** Units held in memory; past it, new ones are dropped and counted. */
  maxQueue: number
  /** Units sent at once, each awaiting its own confirmation (RELP's window). Default 1. */
  window?: number
  /** How long one unit may keep failing before it is given up (and counted). Default a day. */
  maxRetryMs?: number
  minBackoffMs?: number
  maxBackoffMs?: number
  /** What the line tells its transport: each at most once per outage, never once per unit (but `delivered`). */
  events: DeliveryEvents<T>
}

/**
 * What a delivery line tells its transport. The transport words the warnings:
 * the line only says what happened.
 */
export interface DeliveryEvents<T> {
  /** Sending started failing: the first failure of an outage. Units are kept and retried. */
  down(err: Error): void
  /** Sending works again after an outage. */
  up(): void
  /** Units dropped (queue or spool full, or retried past `maxRetryMs`) since the last call: said once delivery works again. */
  dropped(count: number): void
  /** One unit given up: refused for good (an error that says `permanent: true`), or retried past `maxRetryMs`. Counted as dropped. */
  gaveUp?(key: string, err: Error): void
  /** One unit delivered. */
  delivered?(key: string, value: T): void
  /** A unit that never entered the line: a key seen before, or dropped at the door. */
  refused?(key: string): void
  /** The spool cannot write (a full disk): once per spool outage. Units stay in memory meanwhile. */
  spoolFailed?(err: Error): void
}

/** Counts of one delivery line. */
export interface DeliveryStats extends TransportStats {
  /** Units sent again because their delivery was in doubt (a plain TCP connection that closed soon after them). */
  resent: number
}

const RECENT = 10_000

/** An error that says retrying cannot help, read by shape: `{ permanent: true }` (a `TicketError` for a refused API key). */
function isPermanent(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true
  )
}
const IN_FLIGHT_GRACE_MS = 1000

/**
 * The delivery layer the network transports share: a bounded queue in
 * memory, mirrored to a disk spool; units sent in order, one at a time or
 * up to `window` at once;
 * retries with capped exponential backoff and jitter; a unit given up after
 * `maxRetryMs`; and every unit known by a key (an incident id, a Message-ID),
 * so a replayed spool delivers nothing twice.
 */
export class Delivery<T> {
  #queue = new Map<string, T>()
  #recent = new FifoMap<string, true>()
  #inFlight = new Set<string>()
  #failedInFlight = false
  #timer: NodeJS.Timeout | undefined
  readonly #backoff: Backoff
  #failingSince: number | undefined
  #outage = false
  #droppedSinceWarn = 0
  #closed = false
  #waiters: Array<() => void> = []
  #stats = { delivered: 0, retried: 0, dropped: 0, resent: 0 }

  constructor(private readonly options: DeliveryOptions<T>) {
    this.#backoff = new Backoff(options.minBackoffMs ?? 500, options.maxBackoffMs ?? 60_000)
    if (options.spool) options.spool.onError = (err) => options.events.spoolFailed?.(err)
    // what an earlier process owed goes first, in the order it was accepted
    for (const entry of options.spool?.takeRecovered() ?? [])
      this.#queue.set(entry.key, entry.value)
    if (this.#queue.size) setImmediate(() => this.#pump())
  }

  /** Accepts a unit: queued, spooled, and sent when its turn comes. A key seen before is not sent again. */
  push(key: string, value: T, options: { first?: boolean } = {}): boolean {
    if (this.#recent.has(key) || this.#queue.has(key)) return this.#refuse(key)
    if (
      !options.first &&
      (this.#closed ||
        this.#queue.size >= this.options.maxQueue ||
        (this.options.spool && !this.options.spool.put(key, value)))
    ) {
      this.#stats.dropped++
      this.#droppedSinceWarn++
      return this.#refuse(key)
    }
    if (options.first) {
      this.options.spool?.put(key, value)
      this.#queue = new Map([[key, value], ...this.#queue])
    } else {
      this.#queue.set(key, value)
    }
    this.#pump()
    return true
  }

  #refuse(key: string): false {
    this.options.events.refused?.(key)
    return false
  }

  /** `push`, written to the spool before it returns: for a process about to exit. */
  pushSync(key: string, value: T): void {
    if (this.#recent.has(key)) return
    this.#queue.set(key, value)
    this.options.spool?.putSync(key, value)
  }

  /** Tries again now rather than at the end of the backoff: the receiver is known to be back. */
  wake(): void {
    if (!this.#timer) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pump()
  }

  stats(): DeliveryStats {
    return {
      ...this.#stats,
      queued: this.#queue.size,
      spooled: this.options.spool?.size().entries ?? 0,
    }
  }

  #pump(): void {
    if (this.#timer || this.#closed || this.#failedInFlight) return
    const window = this.options.window ?? 1
    if (this.#inFlight.size >= window) return
    for (const [key, value] of this.#queue) {
      if (this.#inFlight.size >= window) break
      if (this.#inFlight.has(key)) continue
      this.#inFlight.add(key)
      this.options.send(value, key).then(
        () => this.#delivered(key),
        (err: unknown) => this.#failed(key, err),
      )
    }
    if (!this.#queue.size) for (const resolve of this.#waiters.splice(0)) resolve()
  }

  /**
   * Takes back units that were counted as delivered but may not have been (the connection they went out on
   * closed right after): they go first, in their order, and are spooled again. The receiver may see them twice.
   */
  resend(units: Array<{ key: string; value: T }>): void {
    if (this.#closed || !units.length) return
    const again = new Map<string, T>()
    for (const { key, value } of units) {
      if (this.#queue.has(key)) continue
      this.#recent.delete(key)
      this.options.spool?.put(key, value)
      again.set(key, value)
    }
    this.#stats.resent += again.size
    this.#queue = new Map([...again, ...this.#queue])
    this.#pump()
  }

  #remember(key: string): void {
    this.#recent.add(key, true)
    if (this.#recent.size > RECENT) this.#recent.dropOldest()
  }

  #delivered(key: string): void {
    const value = this.#queue.get(key)
    this.#inFlight.delete(key)
    this.#queue.delete(key)
    this.options.spool?.ack(key)
    this.#remember(key)
    this.#stats.delivered++
    this.#failingSince = undefined
    this.#backoff.reset()
    const { events } = this.options
    if (value !== undefined) events.delivered?.(key, value)
    if (this.#outage) {
      this.#outage = false
      events.up()
    }
    if (this.#droppedSinceWarn) {
      const dropped = this.#droppedSinceWarn
      this.#droppedSinceWarn = 0
      events.dropped(dropped)
    }
    this.#settled()
  }

  #failed(key: string, failure: unknown): void {
    this.#inFlight.delete(key)
    this.#failedInFlight = true
    const err = failure instanceof Error ? failure : new Error(String(failure))
    if (isPermanent(failure)) {
      // retrying cannot help (a refused API key): given up at once; the transport says what to fix
      this.#giveUp(key, err)
      return this.#settled()
    }
    this.#stats.retried++
    const now = Date.now()
    this.#failingSince ??= now
    if (!this.#outage) {
      this.#outage = true
      this.options.events.down(err)
    }
    if (now - this.#failingSince > (this.options.maxRetryMs ?? 24 * 3600_000)) {
      // past the retry bound: given up, counted, and said once delivery works again
      this.#giveUp(key, err)
      this.#droppedSinceWarn++
      this.#failingSince = undefined
    }
    this.#settled()
  }

  #giveUp(key: string, err: Error): void {
    const value = this.#queue.get(key)
    this.#queue.delete(key)
    this.options.spool?.ack(key)
    this.#stats.dropped++
    if (value !== undefined) this.options.events.gaveUp?.(key, err)
  }

  /** After a failure, the units still out are waited for, so the retry starts again from the first one owed. */
  #settled(): void {
    if (!this.#failedInFlight) return this.#pump()
    if (this.#inFlight.size || this.#timer) return
    this.#failedInFlight = false
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#pump()
    }, this.#backoff.next())
    this.#timer.unref()
  }

  #settleInFlight(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs
      const check = () =>
        !this.#inFlight.size || Date.now() >= deadline ? resolve() : setTimeout(check, 5).unref()
      check()
    })
  }

  /** Resolves once the queue is empty, or `timeoutMs` passed. */
  drain(timeoutMs: number): Promise<void> {
    if (!this.#queue.size && !this.#inFlight.size) return Promise.resolve()
    this.wake()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      timer.unref()
      this.#waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * Drains within the timeout, then stops; what is still owed stays in the spool for the next start. Units
   * already out get up to a second more to be confirmed, so a delivery that completes as the process stops is
   * recorded as delivered rather than sent again at the next start.
   */
  async close(timeoutMs: number): Promise<number> {
    await this.drain(timeoutMs)
    this.#closed = true
    if (this.#inFlight.size) await this.#settleInFlight(IN_FLIGHT_GRACE_MS)
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const owed = this.#queue.size
    await this.options.spool?.close()
    return owed
  }
}

export type { SpoolEntry }
