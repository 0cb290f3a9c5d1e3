import { createHash, randomUUID } from 'node:crypto'
import type { Report } from '../report/report.js'
import { Batcher } from './batcher.js'
import {
  kindBounds,
  REDIS_MAX_FINGERPRINTS,
  REDIS_MAX_INCIDENTS,
  type KindBounds,
} from './kind-bounds.js'
import { parseJson } from './redis-replies.js'
import { RedisReads } from './redis-reads.js'
import { boundReport, incidentKey, occurrenceOf, titleOf } from './report-bounds.js'
import {
  ADMIT,
  COUNT_IN_WINDOW,
  GATHER,
  GIVE_BACK,
  RECORD,
  RELEASE,
  TAKE,
  UPDATE_ISSUE,
} from './redis-scripts.js'
import type {
  Admission,
  FleetCoordination,
  Gathered,
  GatherResult,
  IncidentRecord,
  IncidentStore,
  IssueDetail,
  IssueQuery,
  IssueSummary,
  StoredOccurrence,
} from './types.js'

/**
 * What faultline needs of a Redis client: node-redis's `sendCommand`, which
 * every version of the `redis` package has, so an app can hand over its own.
 */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>
}

/** Bounds of what the store keeps in Redis, per app. */
export interface RedisStoreLimits {
  retentionMs: number
  /**
   * Distinct fingerprints per kind; the one of the same kind seen longest
   * ago makes room, so warnings never evict a traceback or an error. A
   * number bounds each kind alike. Default `REDIS_MAX_FINGERPRINTS`: 5 000
   * tracebacks, 2 500 errors, 2 500 warnings.
   */
  maxFingerprints?: number | Partial<KindBounds>
  /**
   * Incidents the lookup can find per kind; the oldest of the same kind
   * makes room. Default `REDIS_MAX_INCIDENTS`: 50 000 tracebacks, 25 000
   * errors, 25 000 warnings.
   */
  maxIncidents?: number | Partial<KindBounds>
}

const MAX_OCCURRENCES = 50
const MAX_LISTED = 50
const MAX_URLS = 20
// a storm's reports gather this long, at most this many, before they go to Redis as one script
const BATCH_MS = 10
const MAX_BATCH = 200

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')

/** The fleet's coordination and incident counts on Redis: every step one script, every key with an expiry. */
export class RedisStore implements FleetCoordination, IncidentStore {
  readonly #client: RedisCommander
  readonly #prefix: string
  /** A key of the app's: the scripts that build their keys inside declare it, so a cluster routes them by its slot. */
  readonly #anchor: string
  readonly #limits: { retentionMs: number }
  /** The script's bound arguments: fingerprints then incidents, each per kind (traceback, error, warning). */
  readonly #bounds: number[]
  readonly #now: () => number
  readonly #reads: RedisReads

  constructor(
    client: RedisCommander,
    options: { prefix: string; limits: RedisStoreLimits; now?: () => number },
  ) {
    this.#client = client
    this.#prefix = options.prefix
    this.#anchor = `${options.prefix}last`
    this.#limits = options.limits
    const fingerprints = kindBounds(options.limits.maxFingerprints, REDIS_MAX_FINGERPRINTS)
    const incidents = kindBounds(options.limits.maxIncidents, REDIS_MAX_INCIDENTS)
    this.#bounds = [fingerprints, incidents].flatMap((b) => [b.traceback, b.error, b.warning])
    this.#now = options.now ?? Date.now
    this.#reads = new RedisReads({
      client,
      prefix: this.#prefix,
      anchor: this.#anchor,
      limits: this.#limits,
      now: this.#now,
      script: (script, keys, args) => this.#script(script, keys, args),
    })
  }

  /** Runs a script by its digest, sending its text once when the server does not know it yet. */
  async #script(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    const rest = [String(keys.length), ...keys, ...args.map(String)]
    try {
      return await this.#client.sendCommand(['EVALSHA', sha1(script), ...rest])
    } catch (err) {
      if (!String((err as { message?: unknown })?.message).includes('NOSCRIPT')) throw err
      return this.#client.sendCommand(['EVAL', script, ...rest])
    }
  }

  /** Asks the node that holds the app's keys (on a cluster, the primary of its slot): the failover's probe. */
  async ping(): Promise<void> {
    await this.#client.sendCommand(['EXISTS', this.#anchor])
  }

  async countInWindow(key: string, windowMs: number): Promise<number> {
    const count = await this.#script(COUNT_IN_WINDOW, [`${this.#prefix}c:${key}`], [windowMs])
    return Number(count)
  }

  async admit(key: string, max: number, periodMs: number): Promise<Admission> {
    const reply = (await this.#script(
      ADMIT,
      [`${this.#prefix}a:${key}`],
      [this.#now(), periodMs, max, randomUUID()],
    )) as [unknown, unknown]
    return { admitted: Number(reply[0]) === 1, freeAt: Number(reply[1]) }
  }

  async giveBack(key: string, at: number): Promise<void> {
    await this.#script(GIVE_BACK, [`${this.#prefix}a:${key}`], [at])
  }

  #windowKeys(scope: string, fingerprint: string): string[] {
    const base = `${this.#prefix}w:${scope}:${fingerprint}`
    return [base, `${base}:o`, `${base}:u`]
  }

  async gather(
    scope: string,
    fingerprint: string,
    first: string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ): Promise<GatherResult> {
    const reply = (await this.#script(GATHER, this.#windowKeys(scope, fingerprint), [
      this.#now(),
      windowMs,
      first,
      JSON.stringify(occurrence),
      occurrence.url ?? '',
      MAX_LISTED,
      MAX_URLS,
    ])) as [unknown, unknown]
    return { opened: Number(reply[0]) === 1, start: Number(reply[1]) }
  }

  async take(
    scope: string,
    fingerprint: string,
    start: number,
    windowMs: number,
  ): Promise<Gathered | undefined> {
    const now = this.#now()
    const reply = (await this.#script(TAKE, this.#windowKeys(scope, fingerprint), [
      start,
      now,
      windowMs,
    ])) as [string, unknown, string[], string[], unknown] | null
    if (!reply) return undefined
    const [first, count, occurrences, urls, since] = reply
    return {
      first,
      count: Number(count),
      occurrences: occurrences.flatMap((o) => parseJson<StoredOccurrence>(o) ?? []),
      urls,
      since: Number(since),
      until: now,
    }
  }

  async claim(key: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID()
    const reply = await this.#client.sendCommand([
      'SET',
      `${this.#prefix}claim:${key}`,
      token,
      'NX',
      'PX',
      String(ttlMs),
    ])
    return reply === null ? undefined : token
  }

  async release(key: string, token: string): Promise<void> {
    await this.#script(RELEASE, [`${this.#prefix}claim:${key}`], [token])
  }

  /**
   * Counts one report. Reports that come within a few milliseconds of each
   * other go to Redis as one script: a storm costs one round trip per batch,
   * not one per request.
   */
  record(report: Report): Promise<void> {
    const now = this.#now()
    const incident: Omit<IncidentRecord, 'id'> = {
      ...occurrenceOf(report),
      fingerprint: report.fingerprint,
      kind: report.kind,
      ...(report.status !== undefined ? { status: report.status } : {}),
      ...(report.request ? { method: report.request.method } : {}),
      host: report.host,
    }
    const entry = [
      report.fingerprint,
      String(now),
      report.kind,
      titleOf(report),
      report.request?.route ?? '',
      JSON.stringify(occurrenceOf(report)),
      incidentKey(report.id),
      JSON.stringify({ ...incident, id: report.id, at: now }),
      report.repeatOf ? '' : boundReport(report),
    ]
    return this.#records.add(entry)
  }

  readonly #records = new Batcher<string[]>(
    (entries) => {
      const args = [this.#prefix, entries.length, this.#limits.retentionMs, MAX_OCCURRENCES]
      return this.#script(RECORD, [this.#anchor], [...args, ...this.#bounds, ...entries.flat()])
    },
    BATCH_MS,
    MAX_BATCH,
  )

  /** Sends the reports still gathering for a batch and waits for the batches on their way: for close. */
  drain(): Promise<void> {
    return this.#records.drain()
  }

  issues(query: IssueQuery = {}): Promise<{ issues: IssueSummary[]; total: number }> {
    return this.#reads.issues(query)
  }

  issue(fingerprint: string): Promise<IssueDetail | undefined> {
    return this.#reads.issue(fingerprint)
  }

  hourly(fingerprints: string[], hours: number): Promise<Record<string, number[]>> {
    return this.#reads.hourly(fingerprints, hours)
  }

  incident(id: string): Promise<IncidentRecord | undefined> {
    return this.#reads.incident(id)
  }

  async #update(fingerprint: string, fields: Record<string, string>): Promise<void> {
    const args = Object.entries(fields).flat()
    await this.#script(UPDATE_ISSUE, [`${this.#prefix}fp:${fingerprint}`], args)
  }

  resolve(fingerprint: string): Promise<void> {
    return this.#update(fingerprint, { status: 'resolved', resolvedAt: String(this.#now()) })
  }

  async mute(fingerprint: string, until: number): Promise<void> {
    await this.#update(fingerprint, { mutedUntil: until > 0 ? String(until) : '' })
    const key = `${this.#prefix}muted`
    if (until > 0) {
      await this.#client.sendCommand(['ZADD', key, String(until), fingerprint])
      await this.#client.sendCommand(['PEXPIRE', key, String(this.#limits.retentionMs)])
    } else await this.#client.sendCommand(['ZREM', key, fingerprint])
  }

  /** The fingerprints muted now, with until when: what every process polls. */
  mutedNow(): Promise<Map<string, number>> {
    return this.#reads.mutedNow()
  }

  linkTicket(fingerprint: string, ticket: { id: string; url?: string }): Promise<void> {
    return this.#update(fingerprint, { ticketId: ticket.id, ticketUrl: ticket.url ?? '' })
  }
}
