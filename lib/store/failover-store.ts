import type { Report } from '../report/report.js'
import { noticeOf, type NoticeChannel } from '../notices.js'
import { KnownWindows } from './known-windows.js'
import { isMutedIn } from './mutes.js'
import type { RedisStore } from './redis-store.js'
import type {
  FleetCoordination,
  IncidentStore,
  IssueQuery,
  Store,
  StoreStatus,
  StoredOccurrence,
} from './types.js'

/** How the failover judges Redis and what it says when Redis goes and comes back. */
export interface FailoverOptions {
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
  /** How often the fleet's mutes are read. */
  mutePollMs: number
  /** Where the once-per-outage lines go (stderr by default). */
  say: NoticeChannel
  /** Gives the client back (for a client faultline made); nothing for the app's own. */
  release: () => Promise<void>
  /**
   * Destroys the client and makes a new one, for a client faultline made: a
   * call past its deadline may be a reply still arriving (node-redis buffers a
   * bulk string of any announced length), so the connection is not kept.
   * Absent for the app's own client, which faultline must not replace.
   */
  reopen?: () => Promise<RedisStore>
}

type Local = FleetCoordination & IncidentStore

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

class Timeout extends Error {
  readonly code = 'FAULTLINE_STORE_TIMEOUT'
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`)
  }
}

/**
 * The shared store with a way out: every call goes to Redis in the background
 * with a short deadline; when Redis fails or is slow, the call is answered by
 * this process's own state at once, the outage is said once, and Redis is
 * probed until it answers, when sharing resumes (and that is said once too).
 * Falling back may send an alert twice; it never loses one.
 */
export class FailoverStore implements Store {
  #redis: Promise<RedisStore>
  #reopens = 0
  #cannotReopenSaid = false
  readonly #local: Local
  readonly #options: FailoverOptions
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
  #muted = new Map<string, number>()
  readonly #windows = new KnownWindows()
  #muteChanges = 0
  #mutesOut = 0
  readonly #mutePoll: NodeJS.Timeout

  constructor(redis: Promise<RedisStore>, local: Local, options: FailoverOptions) {
    this.#redis = redis
    this.#local = local
    this.#options = options
    // a client that cannot even be made counts as an outage from the start
    this.#watchConnection(redis)
    // mutes made on other hosts reach this one within a poll
    this.#mutePoll = setInterval(() => void this.#pollMutes(), options.mutePollMs).unref()
  }

  async #pollMutes(): Promise<void> {
    if (!this.#shared || this.#closed) return
    const asked = this.#muteChanges
    const muted = await this.#call(
      (r) => r.mutedNow(),
      () => Promise.resolve(undefined),
    )
    // a mute made here while the poll was out is newer than its answer: the next poll brings both
    if (muted && asked === this.#muteChanges && this.#mutesOut === 0) this.#muted = muted
  }

  isMuted(fingerprint: string): boolean {
    return isMutedIn(this.#muted, fingerprint)
  }

  status(): StoreStatus {
    return {
      backend: 'redis',
      // not before the first connection: a health check must not say shared of a server never reached
      shared: this.#shared && this.#connected,
      fallbacks: this.#fallbacks,
      outages: this.#outages,
    }
  }

  async #call<T>(
    remote: (redis: RedisStore) => Promise<T>,
    local: (l: Local) => Promise<T>,
  ): Promise<T> {
    if (!this.#shared || this.#closed || this.#inFlight >= this.#options.maxInFlight) {
      this.#fallbacks++
      return local(this.#local)
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
      return local(this.#local)
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

  /** Clients destroyed and made again after a call missed its deadline. */
  get reopens(): number {
    return this.#reopens
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

  countInWindow(key: string, windowMs: number): Promise<number> {
    return this.#call(
      (r) => r.countInWindow(key, windowMs),
      (l) => l.countInWindow(key, windowMs),
    )
  }

  admit(key: string, max: number, periodMs: number) {
    return this.#call(
      (r) => r.admit(key, max, periodMs),
      (l) => l.admit(key, max, periodMs),
    )
  }

  async giveBack(key: string, at: number): Promise<void> {
    await this.#call(
      (r) => r.giveBack(key, at),
      (l) => l.giveBack(key, at),
    )
  }

  gather(
    scope: string,
    fingerprint: string,
    first: string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ) {
    const key = `${scope}\u0000${fingerprint}`
    const gather = async (store: Pick<FleetCoordination, 'gather'>) => {
      const result = await store.gather(scope, fingerprint, first, occurrence, windowMs)
      if (!result.opened || !this.#windows.isOpen(key)) return result
      // the fleet alerted on this window already, and the store cannot say so (an outage) or forgot
      // it (a replica promoted before it had copied it): this occurrence counts into a digest instead
      return store.gather(scope, fingerprint, first, occurrence, windowMs)
    }
    return this.#call(
      async (r) => {
        const result = await gather(r)
        this.#windows.saw(key, windowMs)
        return result
      },
      (l) => gather(l),
    )
  }

  async take(scope: string, fingerprint: string, start: number, windowMs: number) {
    // a window opened during an outage lives in the local state: it is taken there, whatever Redis does now
    const local = await this.#local.take(scope, fingerprint, start, windowMs)
    if (local) return local
    return this.#call(
      (r) => r.take(scope, fingerprint, start, windowMs),
      () => Promise.resolve(undefined),
    )
  }

  claim(key: string, ttlMs: number): Promise<string | undefined> {
    return this.#call(
      (r) => r.claim(key, ttlMs),
      (l) => l.claim(key, ttlMs),
    )
  }

  async release(key: string, token: string): Promise<void> {
    await this.#local.release(key, token)
    await this.#call(
      (r) => r.release(key, token),
      () => Promise.resolve(),
    )
  }

  record(report: Report): Promise<void> {
    return this.#call(
      (r) => r.record(report),
      (l) => l.record(report),
    )
  }

  issues(query?: IssueQuery) {
    return this.#call(
      (r) => r.issues(query),
      (l) => l.issues(query),
    )
  }

  issue(fingerprint: string) {
    return this.#call(
      (r) => r.issue(fingerprint),
      (l) => l.issue(fingerprint),
    )
  }

  hourly(fingerprints: string[], hours: number) {
    return this.#call(
      (r) => r.hourly(fingerprints, hours),
      (l) => l.hourly(fingerprints, hours),
    )
  }

  incident(id: string) {
    return this.#call(
      (r) => r.incident(id),
      (l) => l.incident(id),
    )
  }

  resolve(fingerprint: string): Promise<void> {
    return this.#call(
      (r) => r.resolve(fingerprint),
      (l) => l.resolve(fingerprint),
    )
  }

  async mute(fingerprint: string, until: number): Promise<void> {
    this.#muteChanges++
    this.#mutesOut++
    if (until > Date.now()) this.#muted.set(fingerprint, until)
    else this.#muted.delete(fingerprint)
    try {
      await this.#call(
        (r) => r.mute(fingerprint, until),
        (l) => l.mute(fingerprint, until),
      )
    } finally {
      this.#mutesOut--
    }
  }

  linkTicket(fingerprint: string, ticket: { id: string; url?: string }): Promise<void> {
    return this.#call(
      (r) => r.linkTicket(fingerprint, ticket),
      (l) => l.linkTicket(fingerprint, ticket),
    )
  }

  async #settle(): Promise<void> {
    const redis = await this.#redis.catch(() => undefined)
    await redis?.drain().catch(() => {})
    await Promise.allSettled([...this.#calls])
  }

  async close(): Promise<void> {
    clearInterval(this.#mutePoll)
    clearInterval(this.#probe)
    this.#probe = undefined
    // reports still gathering for a batch, or waiting for the first connection, are counted before the client goes
    if (this.#shared) await Promise.race([this.#settle(), sleep(this.#options.timeoutMs)])
    this.#closed = true
    await this.#options.release()
  }
}
