/**
 * The behaviour every IncidentStore must have, through the interface only:
 * the local store and the Redis one run the same suite.
 */
import { expect } from 'chai'
import { createIncidentId } from '../../lib/report/incident-id.js'
import type { Report, ReportKind } from '../../lib/report/report.js'
import type { IncidentStore } from '../../lib/store/types.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
// a fixed start, on the hour: hourly buckets line up with what the tests count
const START = Date.UTC(2026, 0, 5, 10, 0, 0)

/** A store under test, and what cleans it up. */
export type OpenedStore = IncidentStore & { close?(): Promise<void> }

/** A report as the reporter hands it over: only the fields the store reads are varied. */
export function makeReport(
  fingerprint: string,
  overrides: Partial<Report> & { url?: string; route?: string } = {},
): Report {
  const { url = '/orders/1', route = '/orders/:id', ...rest } = overrides
  const kind: ReportKind = rest.kind ?? 'traceback'
  return {
    id: createIncidentId(),
    kind,
    level: kind === 'warning' ? 'warn' : 'error',
    status: 500,
    message: `TypeError: broken ${fingerprint}`,
    fingerprint,
    time: new Date().toISOString(),
    app: 'shop',
    host: 'web-1',
    pid: 1,
    request: { method: 'GET', url, route, xhr: false },
    error: {
      name: 'TypeError',
      message: `broken ${fingerprint}`,
      stack: 'TypeError: broken\n    at x',
    },
    ...rest,
  }
}

/**
 * Runs the IncidentStore behaviour suite against the stores `open` makes: a
 * fresh, empty store per test, on a clock the test moves.
 */
export function describeIncidentStore(
  name: string,
  open: (now: () => number) => Promise<OpenedStore>,
): void {
  describe(`IncidentStore: ${name}`, function () {
    let clock = START
    let store: OpenedStore

    beforeEach(async function () {
      clock = START
      store = await open(() => clock)
    })

    afterEach(async function () {
      await store.close?.()
    })

    async function recordMany(
      fingerprint: string,
      times: number,
      overrides = {},
    ): Promise<Report[]> {
      const reports: Report[] = []
      for (let i = 0; i < times; i++) {
        const report = makeReport(fingerprint, overrides)
        reports.push(report)
        await store.record(report)
      }
      return reports
    }

    it('should list each fingerprint once with its count, kind, title and route', async function () {
      await recordMany('fp-a', 3)
      await recordMany('fp-b', 1, {
        kind: 'warning',
        status: 404,
        message: 'Not Found',
        route: '/x',
      })
      const { issues, total } = await store.issues()
      expect(total).to.equal(2)
      const a = issues.find((i) => i.fingerprint === 'fp-a')!
      expect(a).to.include({
        kind: 'traceback',
        count: 3,
        title: 'TypeError: broken fp-a',
        route: '/orders/:id',
        status: 'open',
      })
      const b = issues.find((i) => i.fingerprint === 'fp-b')!
      expect(b).to.include({ kind: 'warning', count: 1, title: 'Not Found', route: '/x' })
    })

    it('should keep only the first line of the message, at most 200 characters, as the title', async function () {
      await store.record(makeReport('fp-long', { message: `${'x'.repeat(300)}\nsecond line` }))
      const [issue] = (await store.issues()).issues
      expect(issue!.title).to.not.include('second line')
      expect(issue!.title.length).to.be.at.most(200)
    })

    it('should set first and last seen from when the reports were recorded', async function () {
      await store.record(makeReport('fp-a'))
      clock += 2 * HOUR
      await store.record(makeReport('fp-a'))
      const [issue] = (await store.issues()).issues
      expect(issue!.firstSeen).to.equal(new Date(START).toISOString())
      expect(issue!.lastSeen).to.equal(new Date(START + 2 * HOUR).toISOString())
    })

    it('should sort by last seen by default, and by count on request', async function () {
      await recordMany('fp-many', 5)
      clock += 1000
      await recordMany('fp-late', 1)
      clock += 1000
      await recordMany('fp-mid', 2)
      expect((await store.issues()).issues.map((i) => i.fingerprint)).to.deep.equal([
        'fp-mid',
        'fp-late',
        'fp-many',
      ])
      expect(
        (await store.issues({ sort: 'count' })).issues.map((i) => i.fingerprint),
      ).to.deep.equal(['fp-many', 'fp-mid', 'fp-late'])
    })

    it('should filter by kind, route and status, and page with limit and offset', async function () {
      await recordMany('fp-t', 1)
      clock += 1000
      await recordMany('fp-w', 1, { kind: 'warning', route: '/login' })
      clock += 1000
      await recordMany('fp-e', 1, { kind: 'error', route: '/login' })
      await store.resolve('fp-e')
      expect(
        (await store.issues({ kind: 'warning' })).issues.map((i) => i.fingerprint),
      ).to.deep.equal(['fp-w'])
      expect((await store.issues({ route: '/login' })).total).to.equal(2)
      expect(
        (await store.issues({ status: 'resolved' })).issues.map((i) => i.fingerprint),
      ).to.deep.equal(['fp-e'])
      expect((await store.issues({ status: 'open' })).total).to.equal(2)
      const page = await store.issues({ limit: 1, offset: 1 })
      expect(page.total).to.equal(3)
      expect(page.issues.map((i) => i.fingerprint)).to.deep.equal(['fp-w'])
    })

    it('should count occurrences into hourly buckets, oldest first', async function () {
      await recordMany('fp-a', 2)
      clock += 3 * HOUR
      await recordMany('fp-a', 4)
      const hourly = await store.hourly(['fp-a', 'fp-none'], 24)
      expect(hourly['fp-a']).to.have.length(24)
      expect(hourly['fp-a']!.slice(-4)).to.deep.equal([2, 0, 0, 4])
      expect(hourly['fp-a']!.reduce((a, b) => a + b, 0)).to.equal(6)
      expect(hourly['fp-none']).to.deep.equal(new Array(24).fill(0))
    })

    it('should keep hourly buckets for 14 days', async function () {
      await recordMany('fp-a', 1)
      clock += 13 * DAY
      await recordMany('fp-a', 1)
      const counts = (await store.hourly(['fp-a'], 14 * 24))['fp-a']!
      expect(counts).to.have.length(14 * 24)
      expect(counts[counts.length - 1 - 13 * 24]).to.equal(1)
      expect(counts[counts.length - 1]).to.equal(1)
    })

    it('should give an issue its latest full report and its last occurrences, newest first', async function () {
      const reports = await recordMany('fp-a', 60, { url: '/orders/7?x=1' })
      const issue = await store.issue('fp-a')
      expect(issue!.report?.id).to.equal(reports[59]!.id)
      expect(issue!.report?.error?.name).to.equal('TypeError')
      expect(issue!.occurrences).to.have.length(50)
      expect(issue!.occurrences[0]).to.include({ id: reports[59]!.id, url: '/orders/7?x=1' })
      expect(issue!.occurrences[49]!.id).to.equal(reports[10]!.id)
      expect(await store.issue('fp-unknown')).to.equal(undefined)
    })

    it('should list every occurrence, newest first, before the bound is reached', async function () {
      const reports = await recordMany('fp-b', 3)
      const issue = await store.issue('fp-b')
      expect(issue!.occurrences.map((o) => o.id)).to.deep.equal(reports.map((r) => r.id).reverse())
    })

    it('should find an old incident by its normalised id, not only the latest', async function () {
      const [old] = await recordMany('fp-a', 1, { url: '/first' })
      for (let i = 0; i < 200; i++) {
        clock += 60_000
        await recordMany(`fp-${i % 20}`, 1)
      }
      clock += 10 * DAY
      await recordMany('fp-a', 1)
      const found = await store.incident(old!.id.replace(/-/g, ''))
      expect(found).to.include({
        id: old!.id,
        fingerprint: 'fp-a',
        kind: 'traceback',
        url: '/first',
        status: 500,
        method: 'GET',
        host: 'web-1',
      })
      expect(found!.time).to.equal(old!.time)
      expect(await store.incident('0000AAAA0000')).to.equal(undefined)
    })

    it('should mark a resolved issue regressed when it happens again', async function () {
      await recordMany('fp-a', 1)
      await store.resolve('fp-a')
      const resolved = (await store.issues()).issues[0]!
      expect(resolved.status).to.equal('resolved')
      expect(resolved.resolvedAt).to.be.a('string')
      await recordMany('fp-a', 1)
      const again = await store.issue('fp-a')
      expect(again!.status).to.equal('regressed')
      expect(again!.count).to.equal(2)
      expect((await store.issues({ status: 'regressed' })).total).to.equal(1)
    })

    it('should list muted issues under the muted filter until the mute ends, and unmute', async function () {
      await recordMany('fp-a', 1)
      await recordMany('fp-b', 1)
      await store.mute('fp-a', clock + HOUR)
      const muted = await store.issues({ status: 'muted' })
      expect(muted.issues.map((i) => i.fingerprint)).to.deep.equal(['fp-a'])
      expect(muted.issues[0]!.mutedUntil).to.equal(new Date(START + HOUR).toISOString())
      // every status is listed by default, muted ones included
      expect((await store.issues()).total).to.equal(2)
      clock += HOUR + 1000
      expect((await store.issues({ status: 'muted' })).total).to.equal(0)
      await store.mute('fp-b', clock + DAY)
      await store.mute('fp-b', 0)
      expect((await store.issues({ status: 'muted' })).total).to.equal(0)
      expect((await store.issue('fp-b'))!.mutedUntil).to.equal(undefined)
    })

    it('should link a ticket to an issue', async function () {
      await recordMany('fp-a', 1)
      await store.linkTicket('fp-a', { id: '42', url: 'https://tracker.example/issues/42' })
      expect((await store.issue('fp-a'))!.ticket).to.deep.equal({
        id: '42',
        url: 'https://tracker.example/issues/42',
      })
    })

    it('should forget issues and incidents not seen for longer than the retention period', async function () {
      const [old] = await recordMany('fp-old', 1)
      clock += 15 * DAY
      await recordMany('fp-new', 1)
      expect((await store.issues()).issues.map((i) => i.fingerprint)).to.deep.equal(['fp-new'])
      expect(await store.issue('fp-old')).to.equal(undefined)
      expect(await store.incident(old!.id)).to.equal(undefined)
    })
  })
}

/**
 * The bounds, for a store opened with `maxFingerprints: 3` and
 * `maxIncidents: 5` (per kind): the fingerprint seen longest ago goes first,
 * and the oldest incidents, each only among its own kind.
 */
export function describeIncidentStoreBounds(
  name: string,
  open: (now: () => number) => Promise<OpenedStore>,
): void {
  describe(`IncidentStore bounds: ${name}`, function () {
    let clock = START
    let store: OpenedStore

    beforeEach(async function () {
      clock = START
      store = await open(() => clock)
    })

    afterEach(async function () {
      await store.close?.()
    })

    it('should evict the fingerprint seen longest ago when a new one needs room', async function () {
      for (const fp of ['fp-1', 'fp-2', 'fp-3']) {
        clock += 1000
        await store.record(makeReport(fp))
      }
      clock += 1000
      // seen again: now fp-2 is the one seen longest ago
      await store.record(makeReport('fp-1'))
      clock += 1000
      await store.record(makeReport('fp-4'))
      const listed = (await store.issues()).issues.map((i) => i.fingerprint)
      expect(listed).to.have.members(['fp-1', 'fp-3', 'fp-4'])
      expect(await store.issue('fp-2')).to.equal(undefined)
    })

    it('should keep the newest incidents when there are more than it may hold', async function () {
      const ids: string[] = []
      for (let i = 0; i < 8; i++) {
        clock += 1000
        const report = makeReport('fp-1')
        ids.push(report.id)
        await store.record(report)
      }
      expect(await store.incident(ids[0]!)).to.equal(undefined)
      expect(await store.incident(ids[2]!)).to.equal(undefined)
      expect((await store.incident(ids[7]!))?.id).to.equal(ids[7])
      expect((await store.incident(ids[3]!))?.id).to.equal(ids[3])
    })
    it('should keep every traceback and error, and their incidents, however many new warnings come', async function () {
      const traceback = makeReport('fp-trace')
      const error = makeReport('fp-error', { kind: 'error', message: 'payment refused' })
      await store.record(traceback)
      clock += 1000
      await store.record(error)
      const warnings: Report[] = []
      for (let i = 0; i < 40; i++) {
        clock += 1000
        const warning = makeReport(`fp-scan-${i}`, {
          kind: 'warning',
          status: 404,
          message: 'Not Found',
          url: `/made-up-${i}?q=${i}`,
          route: '',
        })
        warnings.push(warning)
        await store.record(warning)
      }
      expect((await store.issue('fp-trace'))?.kind).to.equal('traceback')
      expect((await store.issue('fp-error'))?.kind).to.equal('error')
      expect((await store.incident(traceback.id))?.fingerprint).to.equal('fp-trace')
      expect((await store.incident(error.id))?.fingerprint).to.equal('fp-error')
      // the warnings made room among themselves: the newest are kept, within their bound
      expect((await store.issues({ kind: 'warning' })).total).to.equal(3)
      expect((await store.issue('fp-scan-39'))?.count).to.equal(1)
      expect(await store.issue('fp-scan-0')).to.equal(undefined)
      expect((await store.incident(warnings[39]!.id))?.fingerprint).to.equal('fp-scan-39')
      expect(await store.incident(warnings[0]!.id)).to.equal(undefined)
      // the list still shows every kind, newest first
      expect((await store.issues()).issues.map((i) => i.fingerprint)).to.deep.equal([
        'fp-scan-39',
        'fp-scan-38',
        'fp-scan-37',
        'fp-error',
        'fp-trace',
      ])
    })

    it('should let new errors make room only among errors, never by evicting a traceback', async function () {
      const traceback = makeReport('fp-trace')
      await store.record(traceback)
      for (let i = 0; i < 10; i++) {
        clock += 1000
        await store.record(makeReport(`fp-error-${i}`, { kind: 'error' }))
      }
      expect(await store.issue('fp-trace')).to.not.equal(undefined)
      expect((await store.incident(traceback.id))?.fingerprint).to.equal('fp-trace')
      expect((await store.issues({ kind: 'error' })).total).to.equal(3)
      expect((await store.issues()).total).to.equal(4)
    })

    it('should keep the kind an issue was first recorded with, for its bound too', async function () {
      await store.record(makeReport('fp-trace'))
      // the same fingerprint reported later under another kind stays one issue, a traceback
      clock += 1000
      await store.record(makeReport('fp-trace', { kind: 'warning' }))
      for (let i = 0; i < 5; i++) {
        clock += 1000
        await store.record(makeReport(`fp-w-${i}`, { kind: 'warning' }))
      }
      const issue = await store.issue('fp-trace')
      expect(issue).to.include({ kind: 'traceback', count: 2 })
    })
  })
}
