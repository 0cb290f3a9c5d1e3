import type { Report, ReportKind } from '../report/report.js'
import { IncidentRing } from './incident-ring.js'
import {
  boundKindOf,
  KINDS,
  kindBounds,
  LOCAL_MAX_FINGERPRINTS,
  LOCAL_MAX_INCIDENTS,
  type KindBounds,
} from './kind-bounds.js'
import { boundReport, incidentKey, occurrenceOf, titleOf } from './report-bounds.js'
import {
  countHour,
  dropFirst,
  keepOccurrence,
  matchesQuery,
  mergeNewestFirst,
  newestFirst,
  summarize,
  type Issue,
} from './local-issue.js'
import type {
  IncidentRecord,
  IncidentStore,
  IssueDetail,
  IssueQuery,
  IssueSummary,
  StoredOccurrence,
} from './types.js'

/** Bounds of what the local incident store keeps in memory. */
export interface LocalIncidentStoreOptions {
  /** How long an issue and an incident are kept after they were last seen. Default 14 days. */
  retentionMs?: number
  /**
   * Distinct fingerprints kept per kind; the one of the same kind seen
   * longest ago makes room, so warnings never evict a traceback or an error.
   * A number bounds each kind alike. Default `LOCAL_MAX_FINGERPRINTS`:
   * 1 000 tracebacks, 500 errors, 500 warnings.
   */
  maxFingerprints?: number | Partial<KindBounds>
  /**
   * Incidents the lookup can find per kind; the oldest of the same kind makes
   * room. A number bounds each kind alike. Default `LOCAL_MAX_INCIDENTS`:
   * 5 000 tracebacks, 2 500 errors, 2 500 warnings.
   */
  maxIncidents?: number | Partial<KindBounds>
  /** The clock, for tests. */
  now?: () => number
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
const MAX_LIST = 500

/**
 * The incident view's data held in this process: what a single-process app
 * uses, and what every process falls back to without Redis. `record` is
 * O(1): each kind's map keeps insertion order, so the fingerprint seen
 * longest ago and the oldest incident of a kind are always first in line to
 * go, with no sorting. Each kind has its own bounds: a scanner's warnings
 * only ever make room among warnings.
 *
 * Memory is bounded by the sum of `maxFingerprints` × (a report of at most
 * 16 KiB, 50 occurrences, 336 hourly buckets) plus the sum of `maxIncidents`
 * slots of 768 bytes: with the defaults about 64 MB of heap and 7.7 MB
 * outside it when every bound is reached.
 *
 * @example
 * ```ts
 * const store = new LocalIncidentStore({ retentionMs: 7 * 24 * 3_600_000, maxFingerprints: { warning: 100 } })
 * faultline.on('report', (report) => void store.record(report))
 * ```
 */
export class LocalIncidentStore implements IncidentStore {
  readonly #retentionMs: number
  readonly #maxFingerprints: KindBounds
  readonly #now: () => number
  /** Per kind, in order of last seen, the longest ago first: a record moves its issue to the end. */
  readonly #issues: Record<ReportKind, Map<string, Issue>> = {
    traceback: new Map(),
    error: new Map(),
    warning: new Map(),
  }
  /** Per kind, by normalised id, in the order they happened: outside the heap, so a storm's incidents cost the collector nothing. */
  readonly #incidents: Record<ReportKind, IncidentRing>
  /** When expiry last ran: once a second is enough for a retention of days, and a storm does not pay it per record. */
  #expiredAt = -Infinity
  /** Counts records: orders issues of different kinds by when they were last seen. */
  #seq = 0

  constructor(options: LocalIncidentStoreOptions = {}) {
    this.#retentionMs = options.retentionMs ?? 14 * DAY
    this.#maxFingerprints = kindBounds(options.maxFingerprints, LOCAL_MAX_FINGERPRINTS)
    const maxIncidents = kindBounds(options.maxIncidents, LOCAL_MAX_INCIDENTS)
    this.#now = options.now ?? Date.now
    this.#incidents = {
      traceback: new IncidentRing(maxIncidents.traceback),
      error: new IncidentRing(maxIncidents.error),
      warning: new IncidentRing(maxIncidents.warning),
    }
  }

  /** The issue of a fingerprint, of whichever kind, with the map that holds it. */
  #find(fingerprint: string): [Issue, Map<string, Issue>] | undefined {
    for (const kind of KINDS) {
      const issues = this.#issues[kind]
      const issue = issues.get(fingerprint)
      if (issue) return [issue, issues]
    }
    return undefined
  }

  record(report: Report): Promise<void> {
    const now = this.#now()
    this.#expire(now)
    const found = this.#find(report.fingerprint)
    let issue: Issue
    let issues: Map<string, Issue>
    if (found) {
      ;[issue, issues] = found
      issues.delete(report.fingerprint)
      if (issue.status === 'resolved') issue.status = 'regressed'
    } else {
      issue = this.#create(report, now)
      const kind = boundKindOf(report.kind)
      issues = this.#issues[kind]
      while (issues.size >= this.#maxFingerprints[kind]) dropFirst(issues)
    }
    issues.set(report.fingerprint, issue)
    issue.seq = ++this.#seq
    issue.count++
    issue.lastSeen = now
    // a repeat's compact report keeps the full one it repeats
    if (!report.repeatOf || issue.report === undefined) issue.report = boundReport(report)
    const occurrence = occurrenceOf(report)
    keepOccurrence(issue, occurrence)
    countHour(issue.hours, Math.floor(now / HOUR), Math.floor((now - this.#retentionMs) / HOUR))
    this.#index(report, occurrence, now)
    return Promise.resolve()
  }

  #create(report: Report, now: number): Issue {
    return {
      fingerprint: report.fingerprint,
      seq: 0,
      kind: report.kind,
      title: titleOf(report),
      ...(report.request?.route ? { route: report.request.route } : {}),
      count: 0,
      firstSeen: now,
      lastSeen: now,
      status: 'open',
      mutedUntil: 0,
      occurrences: [],
      nextOccurrence: 0,
      hours: new Map(),
    }
  }

  #index(report: Report, occurrence: StoredOccurrence, now: number): void {
    this.#incidents[boundKindOf(report.kind)].add({
      at: now,
      record: {
        id: occurrence.id,
        time: occurrence.time,
        url: occurrence.url,
        fingerprint: report.fingerprint,
        kind: report.kind,
        status: report.status,
        method: report.request?.method,
        host: report.host,
      },
    })
  }

  /** Forgets issues past the retention period (they are first in their map); an incident's lookup checks its own age. */
  #expire(now: number): void {
    if (now - this.#expiredAt < 1000 && now >= this.#expiredAt) return
    this.#expiredAt = now
    const horizon = now - this.#retentionMs
    for (const kind of KINDS) {
      const issues = this.#issues[kind]
      for (const [fingerprint, issue] of issues) {
        if (issue.lastSeen > horizon) break
        issues.delete(fingerprint)
      }
    }
  }

  issues(query: IssueQuery = {}): Promise<{ issues: IssueSummary[]; total: number }> {
    const now = this.#now()
    this.#expire(now)
    const kinds = query.kind ? [boundKindOf(query.kind)] : KINDS
    const perKind = kinds.map((kind) => {
      const matches: Issue[] = []
      for (const issue of this.#issues[kind].values())
        if (matchesQuery(issue, query, now)) matches.push(issue)
      return matches
    })
    const matches = mergeNewestFirst(perKind)
    if (query.sort === 'count') matches.sort((a, b) => b.count - a.count || b.seq - a.seq)
    const offset = Math.max(0, query.offset ?? 0)
    const limit = Math.min(Math.max(0, query.limit ?? 50), MAX_LIST)
    const page = matches.slice(offset, offset + limit).map((issue) => summarize(issue, now))
    return Promise.resolve({ issues: page, total: matches.length })
  }

  issue(fingerprint: string): Promise<IssueDetail | undefined> {
    const now = this.#now()
    this.#expire(now)
    const issue = this.#find(fingerprint)?.[0]
    if (!issue) return Promise.resolve(undefined)
    const detail: IssueDetail = {
      ...summarize(issue, now),
      occurrences: newestFirst(issue).map((occurrence) => ({ ...occurrence })),
    }
    if (issue.report !== undefined) detail.report = JSON.parse(issue.report) as Report
    return Promise.resolve(detail)
  }

  hourly(fingerprints: string[], hours: number): Promise<Record<string, number[]>> {
    const last = Math.floor(this.#now() / HOUR)
    const from = last - hours + 1
    const out: Record<string, number[]> = {}
    for (const fingerprint of fingerprints) {
      const counts = new Array<number>(Math.max(0, hours)).fill(0)
      const buckets = this.#find(fingerprint)?.[0].hours
      if (buckets)
        for (const [hour, count] of buckets)
          if (hour >= from && hour <= last) counts[hour - from] = count
      out[fingerprint] = counts
    }
    return Promise.resolve(out)
  }

  incident(id: string): Promise<IncidentRecord | undefined> {
    const horizon = this.#now() - this.#retentionMs
    const key = incidentKey(id)
    for (const kind of KINDS) {
      const found = this.#incidents[kind].find(key, horizon)
      if (found) return Promise.resolve(found)
    }
    return Promise.resolve(undefined)
  }

  resolve(fingerprint: string): Promise<void> {
    const issue = this.#find(fingerprint)?.[0]
    if (issue) {
      issue.status = 'resolved'
      issue.resolvedAt = this.#now()
    }
    return Promise.resolve()
  }

  mute(fingerprint: string, until: number): Promise<void> {
    const issue = this.#find(fingerprint)?.[0]
    if (issue) issue.mutedUntil = until > 0 ? until : 0
    return Promise.resolve()
  }

  linkTicket(fingerprint: string, ticket: { id: string; url?: string }): Promise<void> {
    const issue = this.#find(fingerprint)?.[0]
    if (issue) issue.ticket = { id: ticket.id, ...(ticket.url ? { url: ticket.url } : {}) }
    return Promise.resolve()
  }
}
