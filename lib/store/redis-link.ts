/**
 * The failover store's line to Redis, apart from what the store shares over
 * it: each call's deadline, the cap on calls in flight, the outage said once,
 * the probe that brings sharing back and the client made again after a missed
 * deadline. It lives on its own so that this state machine, which decides
 * when Redis counts as gone, can be read without the dozen calls that merely
 * choose between Redis and the local state.
 */
import { noticeOf, type NoticeChannel } from '../notices.js'
import type { RedisStore } from './redis-store.js'

/** How the link judges Redis and what it says when Redis goes and comes back. */
export interface LinkOptions {
  /** Where the store is, for the lines it writes (credentials already removed). */
  target: string
  /** A call slower than this is answered locally, and Redis counts as gone. */
  timeoutMs: number
  /** How long calls wait for the first connection before they are answered locally. */
  connectMs: number
  /** Calls to Redis waiting for an answer at once; past it, the rest are answered locally. */
  maxInFlight: number
  /** How often a gone Redis is asked whether it is back. */
  probeMs: number
  /** Where the once-per-outage lines go (stderr by default). */
  say: NoticeChannel
  /**
   * Destroys the client and makes a new one, for a client faultline made: a
   * call past its deadline may be a reply still arriving (node-redis buffers a
   * bulk string of any announced length), so the connection is not kept.
   * Absent for the app's own client, which faultline must not replace.
   */
  reopen?: () => Promise<RedisStore>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

class Timeout extends Error {
  readonly code = 'FAULTLINE_STORE_TIMEOUT'
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`)
  }
}

/** Calls Redis with a deadline and, when it fails or is slow, answers by the fallback given. */
export class RedisLink {
  #redis: Promise<RedisStore>
  #reopens = 0
  #cannotReopenSaid = false
  readonly #options: LinkOptions
  #shared = true
  #inFlight = 0
  #fallbacks = 0
  #outages = 0
  #downSince = 0
  #probe: NodeJS.Timeout | undefined
  #closed = false
  /** Calls on their way to Redis: close() lets them land, made before the client connected included. */
  readonly #calls = new Set<Promise<unknown>>()
  // the first connection (loading the client, the TCP and TLS handshakes) gets longer than a call
  #connected = false
  /** The client's connection failed outright: only a new client can come back. */
  #failed = false
  #checking = false

  constructor(redis: Promise<RedisStore>, options: LinkOptions) {
    this.#redis = redis
    this.#options = options
    // a client that cannot even be made counts as an outage from the start
    this.#watchConnection(redis)
  }

  /** Whether calls go to Redis now (not during an outage, nor once closed). */
  get sharing(): boolean {
    return this.#shared && !this.#closed
  }

  /** Sharing, and not before the first connection: a health check must not say shared of a server never reached. */
  get shared(): boolean {
    return this.#shared && this.#connected
  }

  get fallbacks(): number {
    return this.#fallbacks
  }

  get outages(): number {
    return this.#outages
  }

  /** Clients destroyed and made again after a call missed its deadline. */
  get reopens(): number {
    return this.#reopens
  }

  async call<T>(remote: (redis: RedisStore) => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (!this.#shared || this.#closed || this.#inFlight >= this.#options.maxInFlight) {
      this.#fallbacks++
      return fallback()
    }
    this.#inFlight++
    let timer: NodeJS.Timeout | undefined
    const client = this.#redis
    try {
      const deadline = new Promise<never>((_, reject) => {
        const wait = this.#connected
          ? this.#options.timeoutMs
          : Math.max(this.#options.timeoutMs, this.#options.connectMs)
        timer = setTimeout(() => reject(new Timeout(wait)), wait)
      })
      const call = Promise.race([client.then(remote), deadline])
      this.#calls.add(call)
      try {
        return await call
      } finally {
        this.#calls.delete(call)
      }
    } catch (err) {
      this.#down(err)
      if (err instanceof Timeout) this.#reopen(client)
      this.#fallbacks++
      return fallback()
    } finally {
      clearTimeout(timer)
      this.#inFlight--
    }
  }

  #down(err: unknown): void {
    if (!this.#shared || this.#closed) return
    this.#shared = false
    this.#outages++
    this.#downSince = Date.now()
    const why = String((err as { message?: unknown })?.message ?? err)
    this.#options.say(
      noticeOf(
        'FAULTLINE_STORE_DOWN',
        `the shared store at ${this.#options.target} is unavailable (${why}); each process counts and alerts on its own meanwhile (an alert may go out more than once, none is lost)`,
      ),
    )
    this.#probe = setInterval(() => void this.#check(), this.#options.probeMs).unref()
  }

  /**
   * A call missed its deadline: whatever the connection is receiving (a reply
   * of any size) goes with the client, so a hostile or broken Redis costs
   * memory for one deadline at most. The app's own client is left alone, and
   * that is said once.
   */
  #reopen(client: Promise<RedisStore>): void {
    // once per client: a storm's calls time out together, and each reopening would destroy the
    // client the one before it just made (under load, sharing then came back only by luck)
    if (this.#closed || client !== this.#redis) return
    const reopen = this.#options.reopen
    if (!reopen) {
      if (this.#cannotReopenSaid) return
      this.#cannotReopenSaid = true
      this.#options.say(
        noticeOf(
          'FAULTLINE_STORE_CLIENT_KEPT',
          `a call to ${this.#options.target} missed its deadline; faultline does not replace the app's own client, so whatever that connection still receives is held by it (pass store: 'redis://…' to let faultline drop and reopen its own connection)`,
        ),
      )
      return
    }
    this.#reopens++
    this.#connected = false
    this.#failed = false
    this.#redis = reopen()
    this.#watchConnection(this.#redis)
  }

  /** Whether the current client connected or failed outright; a replaced client's news is old news. */
  #watchConnection(client: Promise<RedisStore>): void {
    client.then(
      () => {
        if (client === this.#redis) this.#connected = true
      },
      (err: unknown) => {
        if (client !== this.#redis) return
        this.#failed = true
        this.#down(err)
      },
    )
  }

  async #check(): Promise<void> {
    // one probe at a time: a probe that reopened the client would otherwise be followed, a second
    // later, by one that destroys the new client before it could connect (under load, for ever)
    if (this.#checking) return
    this.#checking = true
    let timer: NodeJS.Timeout | undefined
    const client = this.#redis
    try {
      // a client still connecting (discovering a new primary, say) gets a first connection's time
      const wait = this.#connected
        ? this.#options.timeoutMs
        : Math.max(this.#options.timeoutMs, this.#options.connectMs)
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Timeout(wait)), wait)
      })
      await Promise.race([client.then((redis) => redis.ping()), deadline])
    } catch (err) {
      if (err instanceof Timeout || this.#failed) this.#reopen(client)
      return
    } finally {
      clearTimeout(timer)
      this.#checking = false
    }
    if (this.#shared || this.#closed) return
    clearInterval(this.#probe)
    this.#probe = undefined
    this.#shared = true
    const seconds = Math.round((Date.now() - this.#downSince) / 1000)
    this.#options.say(
      noticeOf(
        'FAULTLINE_STORE_BACK',
        `the shared store at ${this.#options.target} answers again after ${seconds} s; sharing resumes (${this.#fallbacks} call(s) were answered locally)`,
      ),
    )
  }

  async #settle(): Promise<void> {
    const redis = await this.#redis.catch(() => undefined)
    await redis?.drain().catch(() => {})
    await Promise.allSettled([...this.#calls])
  }

  /** Stops probing and, while sharing, lets the calls on their way land (for a call's deadline at most). */
  async close(): Promise<void> {
    clearInterval(this.#probe)
    this.#probe = undefined
    // reports still gathering for a batch, or waiting for the first connection, are counted before the client goes
    if (this.#shared) await Promise.race([this.#settle(), sleep(this.#options.timeoutMs)])
    this.#closed = true
  }
}
