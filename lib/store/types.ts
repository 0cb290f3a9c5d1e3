import type { Report, ReportKind } from '../report/report.js'

/**
 * One occurrence of an error, as a window or the incident index keeps it.
 *
 * @example
 * ```ts
 * const issue = await faultline.issue(fingerprint)
 * for (const { id, time, url } of issue?.occurrences ?? []) console.log(id, time, url)
 * ```
 */
export interface StoredOccurrence {
  /** The incident id the user was shown. */
  id: string
  time: string
  url?: string
}

/**
 * What a gathering window collected for one fingerprint: the digest mail's
 * or the ticket comment's content, for every process of the fleet.
 */
export interface Gathered {
  /** The report that opened the window's thread, as JSON (its slim form). */
  first: string
  /** Occurrences after the first, from every process. */
  count: number
  /** The first of them (at most 50). */
  occurrences: StoredOccurrence[]
  /** Their distinct URLs (at most 20). */
  urls: string[]
  /** The window's start and end, in milliseconds since the epoch. */
  since: number
  until: number
}

/** What `gather` says about one occurrence. */
export interface GatherResult {
  /** Whether this occurrence opened a new window: its process sends the alert at once. */
  opened: boolean
  /** When the window it counts into started; it ends `windowMs` later. */
  start: number
}

/** What `admit` says about one event counted against a ceiling. */
export interface Admission {
  /** Whether it was admitted (and counted): fewer than `max` were admitted in the last `periodMs`. */
  admitted: boolean
  /** When refused: when the oldest admitted event leaves the period, i.e. when one is admitted again. */
  freeAt: number
}

/**
 * What processes of one fleet coordinate on. Every call is atomic on the
 * backend (one command or one script), never a read followed by a write.
 */
export interface FleetCoordination {
  /**
   * Counts one event into the fixed window `key` (the key names its window,
   * such as an hour's bucket) and says how many the window holds now.
   */
  countInWindow(key: string, windowMs: number): Promise<number>
  /**
   * One occurrence of `fingerprint` in `scope` ('mail', 'tickets'): opens
   * the fingerprint's window when none is open (the caller alerts now), or
   * counts the occurrence into the open one. `first` is the JSON kept for the
   * window's digest.
   */
  gather(
    scope: string,
    fingerprint: string,
    first: string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ): Promise<GatherResult>
  /**
   * Ends the window that started at `start`: exactly one caller gets what it
   * gathered (when it gathered anything), and a window that gathered some
   * opens again at once, so a storm that goes on keeps its thread.
   */
  take(
    scope: string,
    fingerprint: string,
    start: number,
    windowMs: number,
  ): Promise<Gathered | undefined>
  /**
   * A ceiling over a sliding period: admits (and counts) an event when fewer
   * than `max` were admitted under `key` in the last `periodMs`, so no period
   * of that length, wherever it starts, holds more than `max`.
   */
  admit(key: string, max: number, periodMs: number): Promise<Admission>
  /**
   * Gives back one event `admit` admitted under `key` at `at` (its `freeAt`):
   * the ceiling counts it no more. The ticket ceiling counts new tickets only,
   * and learns only from the tracker that an error had its ticket already.
   */
  giveBack(key: string, at: number): Promise<void>
  /** Claims `key` for `ttlMs`: a token when this caller holds it, `undefined` when another does. */
  claim(key: string, ttlMs: number): Promise<string | undefined>
  /** Gives a claim back, only if `token` still holds it. */
  release(key: string, token: string): Promise<void>
}

/**
 * Where an issue stands in the incident view: `regressed` is a resolved
 * issue that occurred again.
 *
 * @example
 * ```ts
 * const { total } = await faultline.issues({ status: 'regressed' })
 * ```
 */
export type IssueStatus = 'open' | 'resolved' | 'regressed'

/**
 * One distinct error (one fingerprint), as the incident view lists it.
 *
 * @example
 * ```ts
 * const { issues } = await faultline.issues({ sort: 'count', limit: 5 })
 * for (const i of issues) console.log(`${i.count}× ${i.title} (last ${i.lastSeen})`)
 * ```
 */
export interface IssueSummary {
  fingerprint: string
  kind: ReportKind
  /** The first line of the message, at most 200 characters. */
  title: string
  route?: string
  /** Occurrences in the retention period, across the fleet. */
  count: number
  firstSeen: string
  lastSeen: string
  status: IssueStatus
  /** While muted: until when. */
  mutedUntil?: string
  resolvedAt?: string
  /** The ticket the ticket transport filed for it. */
  ticket?: { id: string; url?: string }
}

/**
 * One issue with what its page shows.
 *
 * @example
 * ```ts
 * const issue = await faultline.issue(report.fingerprint)
 * console.log(issue?.report?.error?.stack)
 * ```
 */
export interface IssueDetail extends IssueSummary {
  /** The latest full report (scrubbed, as every transport got it). */
  report?: Report
  /** The latest occurrences, newest first. */
  occurrences: StoredOccurrence[]
}

/** One incident, as the lookup finds it. */
export interface IncidentRecord extends StoredOccurrence {
  fingerprint: string
  kind: ReportKind
  status?: number
  method?: string
  host: string
}

/**
 * Which issues to list, and in which order.
 *
 * @example
 * ```ts
 * await faultline.issues({ kind: 'traceback', route: '/orders/:id', sort: 'lastSeen', limit: 20 })
 * ```
 */
export interface IssueQuery {
  kind?: ReportKind
  status?: IssueStatus | 'muted'
  route?: string
  sort?: 'lastSeen' | 'count'
  /** Default 50, at most 500. */
  limit?: number
  offset?: number
}

/** What the reporter keeps per fingerprint and incident, and what the incident view reads. */
export interface IncidentStore {
  /** Counts one report: its fingerprint's counts, hourly bucket, latest report and the incident index. */
  record(report: Report): Promise<void>
  issues(query?: IssueQuery): Promise<{ issues: IssueSummary[]; total: number }>
  issue(fingerprint: string): Promise<IssueDetail | undefined>
  /** Hourly counts of the last `hours` hours, oldest first, per fingerprint. */
  hourly(fingerprints: string[], hours: number): Promise<Record<string, number[]>>
  /** An incident by its id (already normalised: upper case, no dashes). */
  incident(id: string): Promise<IncidentRecord | undefined>
  /** Resolves an issue: a later occurrence reopens it as a regression. */
  resolve(fingerprint: string): Promise<void>
  /** Mutes an issue until `until` (milliseconds since the epoch); `0` unmutes. */
  mute(fingerprint: string, until: number): Promise<void>
  /** Links the ticket filed for a fingerprint. */
  linkTicket(fingerprint: string, ticket: { id: string; url?: string }): Promise<void>
}

/**
 * Whether the shared backend answers, and what falling back cost.
 *
 * @example
 * ```ts
 * const { backend, shared, fallbacks } = faultline.storeStatus()
 * if (backend === 'redis' && !shared) console.warn(`alerting alone; ${fallbacks} calls answered locally`)
 * ```
 */
export interface StoreStatus {
  backend: 'local' | 'redis'
  /** Whether the shared backend is connected and answering now (false until the first connection, and while falling back). */
  shared: boolean
  /** Calls answered by the local state because the shared one failed or was slow. */
  fallbacks: number
  /** Times the shared backend was found gone. */
  outages: number
}

/** Where faultline keeps what its processes share: local to the process, or Redis for a fleet. */
export interface Store extends FleetCoordination, IncidentStore {
  status(): StoreStatus
  /**
   * Whether alerts (mail, tickets) about this error are muted now, as this
   * process last heard: at once for a mute made here, within seconds for one
   * made on another host.
   */
  isMuted(fingerprint: string): boolean
  close(): Promise<void>
}
