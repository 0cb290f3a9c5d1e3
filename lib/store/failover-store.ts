import type { Report } from '../report/report.js'
import { KnownWindows } from './known-windows.js'
import { isMutedIn } from './mutes.js'
import { RedisLink, type LinkOptions } from './redis-link.js'
import type { RedisStore } from './redis-store.js'
import type {
  FleetCoordination,
  IncidentStore,
  IssueQuery,
  Store,
  StoreStatus,
  StoredOccurrence,
} from './types.js'

/** How the failover judges Redis (its link's options), how often it reads the fleet's mutes, and how it gives the client back. */
export interface FailoverOptions extends LinkOptions {
  /** How often the fleet's mutes are read. */
  mutePollMs: number
  /** Gives the client back (for a client faultline made); nothing for the app's own. */
  release: () => Promise<void>
}

type Local = FleetCoordination & IncidentStore

/**
 * The shared store with a way out: every call goes to Redis in the background
 * with a short deadline; when Redis fails or is slow, the call is answered by
 * this process's own state at once, the outage is said once, and Redis is
 * probed until it answers, when sharing resumes (and that is said once too).
 * Falling back may send an alert twice; it never loses one.
 */
export class FailoverStore implements Store {
  readonly #link: RedisLink
  readonly #local: Local
  readonly #options: FailoverOptions
  #muted = new Map<string, number>()
  readonly #windows = new KnownWindows()
  #muteChanges = 0
  #mutesOut = 0
  readonly #mutePoll: NodeJS.Timeout

  constructor(redis: Promise<RedisStore>, local: Local, options: FailoverOptions) {
    this.#link = new RedisLink(redis, options)
    this.#local = local
    this.#options = options
    // mutes made on other hosts reach this one within a poll
    this.#mutePoll = setInterval(() => void this.#pollMutes(), options.mutePollMs).unref()
  }

  async #pollMutes(): Promise<void> {
    if (!this.#link.sharing) return
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
      shared: this.#link.shared,
      fallbacks: this.#link.fallbacks,
      outages: this.#link.outages,
    }
  }

  #call<T>(remote: (redis: RedisStore) => Promise<T>, local: (l: Local) => Promise<T>): Promise<T> {
    return this.#link.call(remote, () => local(this.#local))
  }

  /** Clients destroyed and made again after a call missed its deadline. */
  get reopens(): number {
    return this.#link.reopens
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

  async close(): Promise<void> {
    clearInterval(this.#mutePoll)
    await this.#link.close()
    await this.#options.release()
  }
}
