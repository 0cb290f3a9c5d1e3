import type { Report } from '../report/report.js'
import { IncidentRing } from './incident-ring.js'
import { boundReport, incidentKey, occurrenceOf, titleOf } from './report-bounds.js'
import type {
  IncidentRecord,
  IncidentStore,
  IssueDetail,
  IssueQuery,
  IssueStatus,
  IssueSummary,
  StoredOccurrence,
} from './types.js'

/** Bounds of what the local incident store keeps in memory. */
export interface LocalIncidentStoreOptions {
  /** How long an issue and an incident are kept after they were last seen. Default 14 days. */
  retentionMs?: number
  /** Distinct fingerprints kept; the one seen longest ago makes room. Default 10 000. */
  maxFingerprints?: number
  /** Incidents the lookup can find; the oldest makes room. Default 100 000. */
  maxIncidents?: number
  /** The clock, for tests. */
  now?: () => number
}

interface Issue {
  fingerprint: string
  kind: Report['kind']
  title: string
  route?: string
  count: number
  firstSeen: number
  lastSeen: number
  status: IssueStatus
  mutedUntil: number
  resolvedAt?: number
  ticket?: { id: string; url?: string }
  /** The latest full report, as bounded JSON: parsed on read, so no caller can change what is kept. */
  report?: string
  /** The latest, as a ring: `nextOccurrence` is where the next one goes, so no record moves the others. */
  occurrences: StoredOccurrence[]
  nextOccurrence: number
  /** Hour number → count, in the order the hours came: the oldest is always first. */
  hours: Map<number, number>
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
const MAX_OCCURRENCES = 50
const MAX_LIST = 500

function keepOccurrence(issue: Issue, occurrence: StoredOccurrence): void {
  issue.occurrences[issue.nextOccurrence] = occurrence
  issue.nextOccurrence = (issue.nextOccurrence + 1) % MAX_OCCURRENCES
}

function newestFirst({ occurrences, nextOccurrence }: Issue): StoredOccurrence[] {
  const newest: StoredOccurrence[] = []
  for (let i = 1; i <= occurrences.length; i++)
    newest.push(occurrences[(nextOccurrence - i + occurrences.length) % occurrences.length]!)
  return newest
}

/**
 * The incident view's data held in this process: what a single-process app
 * uses, and what every process falls back to without Redis. `record` is
 * O(1): both maps keep insertion order, so the fingerprint seen longest ago
 * and the oldest incident are always first in line to go, with no sorting.
 *
 * Memory is bounded by `maxFingerprints` × (a report of at most 16 KiB, 50
 * occurrences, 336 hourly buckets) plus `maxIncidents` small records.
 *
 * @example
 * ```ts
 * const store = new LocalIncidentStore({ retentionMs: 7 * 24 * 3_600_000 })
 * faultline.on('report', (report) => void store.record(report))
 * ```
 */
export class LocalIncidentStore implements IncidentStore {
  readonly #retentionMs: number
  readonly #maxFingerprints: number
  readonly #maxIncidents: number
  readonly #now: () => number
  /** In order of last seen, the longest ago first: a record moves its issue to the end. */
  readonly #issues = new Map<string, Issue>()
  /** By normalised id, in the order they happened: outside the heap, so a storm's incidents cost the collector nothing. */
  readonly #incidents: IncidentRing
  /** When expiry last ran: once a second is enough for a retention of days, and a storm does not pay it per record. */
  #expiredAt = -Infinity

  constructor(options: LocalIncidentStoreOptions = {}) {
    this.#retentionMs = options.retentionMs ?? 14 * DAY
    this.#maxFingerprints = Math.max(1, options.maxFingerprints ?? 10_000)
    this.#maxIncidents = Math.max(1, options.maxIncidents ?? 100_000)
    this.#now = options.now ?? Date.now
    this.#incidents = new IncidentRing(this.#maxIncidents)
  }

  record(report: Report): Promise<void> {
    const now = this.#now()
    this.#expire(now)
    let issue = this.#issues.get(report.fingerprint)
    if (issue) {
      this.#issues.delete(report.fingerprint)
      if (issue.status === 'resolved') issue.status = 'regressed'
    } else {
      issue = this.#create(report, now)
      while (this.#issues.size >= this.#maxFingerprints) this.#dropFirst(this.#issues)
    }
    this.#issues.set(report.fingerprint, issue)
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
    this.#incidents.add({
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

  #dropFirst(map: Map<string, unknown>): void {
    const first = map.keys().next()
    if (!first.done) map.delete(first.value)
  }

  /** Forgets issues past the retention period (they are first in their map); an incident's lookup checks its own age. */
  #expire(now: number): void {
    if (now - this.#expiredAt < 1000 && now >= this.#expiredAt) return
    this.#expiredAt = now
    const horizon = now - this.#retentionMs
    for (const [fingerprint, issue] of this.#issues) {
      if (issue.lastSeen > horizon) break
      this.#issues.delete(fingerprint)
    }
  }

  issues(query: IssueQuery = {}): Promise<{ issues: IssueSummary[]; total: number }> {
    const now = this.#now()
    this.#expire(now)
    const matches: Issue[] = []
    for (const issue of this.#issues.values())
      if (matchesQuery(issue, query, now)) matches.push(issue)
    if (query.sort === 'count') matches.sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
    else matches.reverse()
    const offset = Math.max(0, query.offset ?? 0)
    const limit = Math.min(Math.max(0, query.limit ?? 50), MAX_LIST)
    const page = matches.slice(offset, offset + limit).map((issue) => summarize(issue, now))
    return Promise.resolve({ issues: page, total: matches.length })
  }

  issue(fingerprint: string): Promise<IssueDetail | undefined> {
    const now = this.#now()
    this.#expire(now)
    const issue = this.#issues.get(fingerprint)
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
      const buckets = this.#issues.get(fingerprint)?.hours
      if (buckets)
        for (const [hour, count] of buckets)
          if (hour >= from && hour <= last) counts[hour - from] = count
      out[fingerprint] = counts
    }
    return Promise.resolve(out)
  }

  incident(id: string): Promise<IncidentRecord | undefined> {
    const horizon = this.#now() - this.#retentionMs
    return Promise.resolve(this.#incidents.find(incidentKey(id), horizon))
  }

  resolve(fingerprint: string): Promise<void> {
    const issue = this.#issues.get(fingerprint)
    if (issue) {
      issue.status = 'resolved'
      issue.resolvedAt = this.#now()
    }
    return Promise.resolve()
  }

  mute(fingerprint: string, until: number): Promise<void> {
    const issue = this.#issues.get(fingerprint)
    if (issue) issue.mutedUntil = until > 0 ? until : 0
    return Promise.resolve()
  }

  linkTicket(fingerprint: string, ticket: { id: string; url?: string }): Promise<void> {
    const issue = this.#issues.get(fingerprint)
    if (issue) issue.ticket = { id: ticket.id, ...(ticket.url ? { url: ticket.url } : {}) }
    return Promise.resolve()
  }
}

/** Adds one to the hour's bucket and drops buckets older than `oldest`: they came first. */
function countHour(hours: Map<number, number>, hour: number, oldest: number): void {
  hours.set(hour, (hours.get(hour) ?? 0) + 1)
  for (const first of hours.keys()) {
    if (first >= oldest) break
    hours.delete(first)
  }
}

function matchesQuery(issue: Issue, query: IssueQuery, now: number): boolean {
  if (query.kind && issue.kind !== query.kind) return false
  if (query.route && issue.route !== query.route) return false
  if (query.status === 'muted') return issue.mutedUntil > now
  return !query.status || issue.status === query.status
}

function summarize(issue: Issue, now: number): IssueSummary {
  return {
    fingerprint: issue.fingerprint,
    kind: issue.kind,
    title: issue.title,
    ...(issue.route !== undefined ? { route: issue.route } : {}),
    count: issue.count,
    firstSeen: new Date(issue.firstSeen).toISOString(),
    lastSeen: new Date(issue.lastSeen).toISOString(),
    status: issue.status,
    ...(issue.mutedUntil > now ? { mutedUntil: new Date(issue.mutedUntil).toISOString() } : {}),
    ...(issue.resolvedAt !== undefined
      ? { resolvedAt: new Date(issue.resolvedAt).toISOString() }
      : {}),
    ...(issue.ticket ? { ticket: { ...issue.ticket } } : {}),
  }
}
