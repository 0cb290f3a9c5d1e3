/**
 * What the Redis store reads back for the dashboard and the mute poll: the
 * issue list, one issue, its hourly counts, an incident, the mutes in force.
 * None of these writes, so they live apart from the writes that count and
 * coordinate, which are the part of the store that must stay atomic; the
 * store hands over the client, its key prefix and its script runner.
 */
import type { Report } from '../report/report.js'
import { parseJson, summaryOf, text } from './redis-replies.js'
import { incidentKey } from './report-bounds.js'
import { HOURLY, LIST_ISSUES } from './redis-scripts.js'
import type {
  IncidentRecord,
  IssueDetail,
  IssueQuery,
  IssueSummary,
  StoredOccurrence,
} from './types.js'

const HOUR = 3_600_000
const MAX_LIST = 500

/** What the reads share with the store that makes them. */
export interface ReadContext {
  client: { sendCommand(args: string[]): Promise<unknown> }
  prefix: string
  /** A key of the app's, declared by the scripts that build their keys inside (a cluster routes them by its slot). */
  anchor: string
  limits: { retentionMs: number }
  now: () => number
  /** Runs a script by its digest (the store's runner). */
  script: (script: string, keys: string[], args: Array<string | number>) => Promise<unknown>
}

/** The Redis store's reads, each one script or a command or two. */
export class RedisReads {
  readonly #c: ReadContext

  constructor(context: ReadContext) {
    this.#c = context
  }

  async issues(query: IssueQuery = {}): Promise<{ issues: IssueSummary[]; total: number }> {
    const limit = Math.min(Math.max(query.limit ?? 50, 0), MAX_LIST)
    const reply = (await this.#c.script(
      LIST_ISSUES,
      [this.#c.anchor],
      [
        this.#c.prefix,
        query.sort === 'count' ? 'count' : 'last',
        query.kind ?? '',
        query.status ?? '',
        query.route ?? '',
        Math.max(query.offset ?? 0, 0),
        limit,
        this.#c.now(),
        this.#c.limits.retentionMs,
      ],
    )) as unknown[]
    const issues: IssueSummary[] = []
    for (let i = 1; i + 11 < reply.length + 1; i += 12)
      issues.push(summaryOf(text(reply[i]), reply.slice(i + 1, i + 12).map(text), this.#c.now()))
    return { issues, total: Number(reply[0]) }
  }

  async issue(fingerprint: string): Promise<IssueDetail | undefined> {
    const key = `${this.#c.prefix}fp:${fingerprint}`
    const fields = ['kind', 'title', 'route', 'count', 'first', 'last', 'status']
    const more = ['mutedUntil', 'resolvedAt', 'ticketId', 'ticketUrl', 'report']
    const [values, occurrences] = (await Promise.all([
      this.#c.client.sendCommand(['HMGET', key, ...fields, ...more]),
      this.#c.client.sendCommand(['LRANGE', `${key}:o`, '0', '-1']),
    ])) as [unknown[], string[]]
    if (values[0] === null || values[0] === undefined) return undefined
    if (Number(values[5]) <= this.#c.now() - this.#c.limits.retentionMs) return undefined
    const report = parseJson<Report>(values[11])
    return {
      ...summaryOf(fingerprint, values.slice(0, 11).map(text), this.#c.now()),
      ...(report ? { report } : {}),
      occurrences: occurrences.flatMap((o) => parseJson<StoredOccurrence>(o) ?? []),
    }
  }

  async hourly(fingerprints: string[], hours: number): Promise<Record<string, number[]>> {
    const from = Math.floor(this.#c.now() / HOUR) - hours + 1
    const out: Record<string, number[]> = {}
    // one script per page of rows: a list of 50 issues is one round trip, not 750
    for (let i = 0; i < fingerprints.length; i += 100) {
      const batch = fingerprints.slice(i, i + 100)
      const counts = (await this.#c.script(
        HOURLY,
        [this.#c.anchor],
        [this.#c.prefix, from, hours, ...batch],
      )) as unknown[]
      batch.forEach((fingerprint, row) => {
        out[fingerprint] = counts.slice(row * hours, (row + 1) * hours).map(Number)
      })
    }
    return out
  }

  async incident(id: string): Promise<IncidentRecord | undefined> {
    const found = await this.#c.client.sendCommand([
      'GET',
      `${this.#c.prefix}inc:${incidentKey(id)}`,
    ])
    const incident = parseJson<IncidentRecord & { at?: number }>(found)
    // Redis expires keys by its own clock; this keeps the retention exact for a clock set apart
    if (!incident || (incident.at ?? 0) <= this.#c.now() - this.#c.limits.retentionMs)
      return undefined
    const { at: _at, ...record } = incident
    return record
  }

  /** The fingerprints muted now, with until when: what every process polls. */
  async mutedNow(): Promise<Map<string, number>> {
    const reply = (await this.#c.client.sendCommand([
      'ZRANGE',
      `${this.#c.prefix}muted`,
      String(this.#c.now()),
      '+inf',
      'BYSCORE',
      'WITHSCORES',
    ])) as unknown[]
    const muted = new Map<string, number>()
    // RESP2 gives a flat list, RESP3 pairs
    const flat = reply.flat() as unknown[]
    for (let i = 0; i + 1 < flat.length; i += 2) muted.set(String(flat[i]), Number(flat[i + 1]))
    return muted
  }
}
