import { randomUUID } from 'node:crypto'
import type { CoordinationAnswers } from './answers.js'
import type {
  Admission,
  FleetCoordination,
  Gathered,
  GatherResult,
  StoredOccurrence,
} from './types.js'

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

function freshWindow(start: number, first: string, windowMs: number): Window {
  return { start, first, count: 0, occurrences: [], urls: new Set(), expires: start + windowMs * 3 }
}

/**
 * The coordination rules held in this process, answered in the caller's own
 * turn: no promise per call, so a storm through a process of its own costs a
 * few map lookups per report. Same answers as the Redis scripts, for one
 * process.
 */
export class InstantCoordination implements CoordinationAnswers {
  readonly #counters = new Map<string, { count: number; expires: number }>()
  readonly #windows = new Map<string, Window>()
  readonly #admitted = new Map<string, { times: number[]; expires: number }>()
  readonly #claims = new Map<string, { token: string; expires: number }>()

  constructor(private readonly now: () => number = Date.now) {}

  countInWindow(key: string, windowMs: number): number {
    const now = this.now()
    let counter = this.#counters.get(key)
    if (!counter || counter.expires <= now) {
      makeRoom(this.#counters, now)
      counter = { count: 0, expires: now + windowMs }
      this.#counters.set(key, counter)
    }
    return ++counter.count
  }

  admit(key: string, max: number, periodMs: number): Admission {
    const now = this.now()
    let log = this.#admitted.get(key)
    if (!log) {
      makeRoom(this.#admitted, now)
      log = { times: [], expires: 0 }
      this.#admitted.set(key, log)
    }
    const { times } = log
    while (times.length && times[0]! <= now - periodMs) times.shift()
    if (times.length < max) {
      times.push(now)
      log.expires = now + periodMs
      return { admitted: true, freeAt: now }
    }
    return { admitted: false, freeAt: times[0]! + periodMs }
  }

  giveBack(key: string, at: number): void {
    const times = this.#admitted.get(key)?.times
    const index = times ? times.indexOf(at) : -1
    if (index >= 0) times!.splice(index, 1)
  }

  /** `first` may be given as a function: it is called only when this occurrence opens a window. */
  gather(
    scope: string,
    fingerprint: string,
    first: string | (() => string),
    occurrence: StoredOccurrence,
    windowMs: number,
  ): GatherResult {
    const now = this.now()
    const key = `${scope}\u0000${fingerprint}`
    const window = this.#windows.get(key)
    // a window past its end that gathered nothing is over: this occurrence opens a new one
    const over =
      window && (window.expires <= now || (window.count === 0 && window.start + windowMs <= now))
    if (!window || over) {
      if (!window) makeRoom(this.#windows, now)
      this.#windows.set(
        key,
        freshWindow(now, typeof first === 'string' ? first : first(), windowMs),
      )
      return { opened: true, start: now }
    }
    window.count++
    // a window that gathers lives until it is taken, however late its taker's timer: its counts are owed
    window.expires = now + windowMs * 3
    if (window.occurrences.length < MAX_LISTED) window.occurrences.push(occurrence)
    if (occurrence.url !== undefined && window.urls.size < MAX_URLS) window.urls.add(occurrence.url)
    return { opened: false, start: window.start }
  }

  take(scope: string, fingerprint: string, start: number, windowMs: number): Gathered | undefined {
    const key = `${scope}\u0000${fingerprint}`
    const window = this.#windows.get(key)
    if (!window || window.start !== start) return undefined
    if (window.count === 0) {
      this.#windows.delete(key)
      return undefined
    }
    const now = this.now()
    this.#windows.set(key, freshWindow(now, window.first, windowMs))
    return {
      first: window.first,
      count: window.count,
      occurrences: window.occurrences,
      urls: [...window.urls],
      since: window.start,
      until: now,
    }
  }

  claim(key: string, ttlMs: number): string | undefined {
    const now = this.now()
    const held = this.#claims.get(key)
    if (held && held.expires > now) return undefined
    makeRoom(this.#claims, now)
    const token = randomUUID()
    this.#claims.set(key, { token, expires: now + ttlMs })
    return token
  }

  release(key: string, token: string): void {
    if (this.#claims.get(key)?.token === token) this.#claims.delete(key)
  }
}

/**
 * The fleet's coordination held in this process alone: what every process
 * uses while Redis is away, and the whole story for an app of one process.
 * Its `instant` answers are the same without a promise, for the alerting
 * transports' storm path.
 */
export class LocalCoordination implements FleetCoordination {
  readonly instant: InstantCoordination

  constructor(now: () => number = Date.now) {
    this.instant = new InstantCoordination(now)
  }

  countInWindow(key: string, windowMs: number): Promise<number> {
    return Promise.resolve(this.instant.countInWindow(key, windowMs))
  }

  admit(key: string, max: number, periodMs: number): Promise<Admission> {
    return Promise.resolve(this.instant.admit(key, max, periodMs))
  }

  giveBack(key: string, at: number): Promise<void> {
    this.instant.giveBack(key, at)
    return Promise.resolve()
  }

  gather(
    scope: string,
    fingerprint: string,
    first: string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ): Promise<GatherResult> {
    return Promise.resolve(this.instant.gather(scope, fingerprint, first, occurrence, windowMs))
  }

  take(
    scope: string,
    fingerprint: string,
    start: number,
    windowMs: number,
  ): Promise<Gathered | undefined> {
    return Promise.resolve(this.instant.take(scope, fingerprint, start, windowMs))
  }

  claim(key: string, ttlMs: number): Promise<string | undefined> {
    return Promise.resolve(this.instant.claim(key, ttlMs))
  }

  release(key: string, token: string): Promise<void> {
    this.instant.release(key, token)
    return Promise.resolve()
  }
}
