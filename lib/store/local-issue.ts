/** The local incident store's issue, and what it does with one: its own file so the store stays readable. */
import type { Report } from '../report/report.js'
import type { IssueQuery, IssueStatus, IssueSummary, StoredOccurrence } from './types.js'

/** One fingerprint as the local store keeps it. */
export interface Issue {
  fingerprint: string
  /** When it was last recorded, in the order of every record of the store: the list's order across kinds. */
  seq: number
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

const MAX_OCCURRENCES = 50

export function keepOccurrence(issue: Issue, occurrence: StoredOccurrence): void {
  issue.occurrences[issue.nextOccurrence] = occurrence
  issue.nextOccurrence = (issue.nextOccurrence + 1) % MAX_OCCURRENCES
}

export function newestFirst({ occurrences, nextOccurrence }: Issue): StoredOccurrence[] {
  const newest: StoredOccurrence[] = []
  for (let i = 1; i <= occurrences.length; i++)
    newest.push(occurrences[(nextOccurrence - i + occurrences.length) % occurrences.length]!)
  return newest
}

export function dropFirst(map: Map<string, unknown>): void {
  const first = map.keys().next()
  if (!first.done) map.delete(first.value)
}

/** Issues of each kind, each list oldest first, as one list newest first: a merge, no sort. */
export function mergeNewestFirst(lists: Issue[][]): Issue[] {
  const merged: Issue[] = []
  const next = lists.map((list) => list.length - 1)
  for (;;) {
    let from = -1
    for (let i = 0; i < lists.length; i++)
      if (
        next[i]! >= 0 &&
        (from === -1 || lists[i]![next[i]!]!.seq > lists[from]![next[from]!]!.seq)
      )
        from = i
    if (from === -1) return merged
    merged.push(lists[from]![next[from]!--]!)
  }
}

/** Adds one to the hour's bucket and drops buckets older than `oldest`: they came first. */
export function countHour(hours: Map<number, number>, hour: number, oldest: number): void {
  hours.set(hour, (hours.get(hour) ?? 0) + 1)
  for (const first of hours.keys()) {
    if (first >= oldest) break
    hours.delete(first)
  }
}

export function matchesQuery(issue: Issue, query: IssueQuery, now: number): boolean {
  if (query.kind && issue.kind !== query.kind) return false
  if (query.route && issue.route !== query.route) return false
  if (query.status === 'muted') return issue.mutedUntil > now
  return !query.status || issue.status === query.status
}

export function summarize(issue: Issue, now: number): IssueSummary {
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
