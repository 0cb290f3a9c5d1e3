import { randomUUID } from 'node:crypto'
import type { FleetCoordination, Gathered, GatherResult, StoredOccurrence } from './types.js'

interface Window {
  start: number
  first: string
  count: number
  occurrences: StoredOccurrence[]
  urls: Set<string>
  expires: number
}

const MAX_LISTED = 50
const MAX_URLS = 20
// past these, the entry that expires first makes room: memory stays bounded in a storm of distinct errors
const MAX_ENTRIES = 20_000

/** Drops expired entries, then the oldest ones while the map is full. */
function makeRoom<V extends { expires: number }>(map: Map<string, V>, now: number): void {
  if (map.size < MAX_ENTRIES) return
  for (const [key, value] of map) if (value.expires <= now) map.delete(key)
  while (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!)
}

/**
 * The fleet's coordination held in this process alone: what every process
 * uses while Redis is away, and the whole story for an app of one process.
 * Same answers as the Redis scripts, for one process.
 */
export class LocalCoordination implements FleetCoordination {
  readonly #counters = new Map<string, { count: number; expires: number }>()
  readonly #windows = new Map<string, Window>()
  readonly #claims = new Map<string, { token: string; expires: number }>()

  constructor(private readonly now: () => number = Date.now) {}

  countInWindow(key: string, windowMs: number): Promise<number> {
    const now = this.now()
    let counter = this.#counters.get(key)
    if (!counter || counter.expires <= now) {
      makeRoom(this.#counters, now)
      counter = { count: 0, expires: now + windowMs }
      this.#counters.set(key, counter)
    }
    counter.count++
    return Promise.resolve(counter.count)
  }

  gather(
    scope: string,
    fingerprint: string,
    first: string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ): Promise<GatherResult> {
    const now = this.now()
    const key = `${scope}\u0000${fingerprint}`
    const window = this.#windows.get(key)
    // a window past its end that gathered nothing is over: this occurrence opens a new one
    const over =
      window && (window.expires <= now || (window.count === 0 && window.start + windowMs <= now))
    if (!window || over) {
      if (!window) makeRoom(this.#windows, now)
      this.#windows.set(key, {
        start: now,
        first,
        count: 0,
        occurrences: [],
        urls: new Set(),
        expires: now + windowMs * 3,
      })
      return Promise.resolve({ opened: true, start: now })
    }
    window.count++
    if (window.occurrences.length < MAX_LISTED) window.occurrences.push(occurrence)
    if (occurrence.url !== undefined && window.urls.size < MAX_URLS) window.urls.add(occurrence.url)
    return Promise.resolve({ opened: false, start: window.start })
  }

  take(
    scope: string,
    fingerprint: string,
    start: number,
    windowMs: number,
  ): Promise<Gathered | undefined> {
    const key = `${scope}\u0000${fingerprint}`
    const window = this.#windows.get(key)
    if (!window || window.start !== start) return Promise.resolve(undefined)
    const now = this.now()
    if (window.count === 0) {
      this.#windows.delete(key)
      return Promise.resolve(undefined)
    }
    const gathered: Gathered = {
      first: window.first,
      count: window.count,
      occurrences: window.occurrences,
      urls: [...window.urls],
      since: window.start,
      until: now,
    }
    this.#windows.set(key, {
      start: now,
      first: window.first,
      count: 0,
      occurrences: [],
      urls: new Set(),
      expires: now + windowMs * 3,
    })
    return Promise.resolve(gathered)
  }

  claim(key: string, ttlMs: number): Promise<string | undefined> {
    const now = this.now()
    const held = this.#claims.get(key)
    if (held && held.expires > now) return Promise.resolve(undefined)
    makeRoom(this.#claims, now)
    const token = randomUUID()
    this.#claims.set(key, { token, expires: now + ttlMs })
    return Promise.resolve(token)
  }

  release(key: string, token: string): Promise<void> {
    if (this.#claims.get(key)?.token === token) this.#claims.delete(key)
    return Promise.resolve()
  }
}
