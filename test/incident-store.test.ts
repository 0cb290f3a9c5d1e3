import { expect } from 'chai'
import { LocalIncidentStore } from '../lib/store/local-incidents.js'
import {
  describeIncidentStore,
  describeIncidentStoreBounds,
  makeReport,
} from './support/incident-store-suite.js'

describeIncidentStore('local', (now) => Promise.resolve(new LocalIncidentStore({ now })))
describeIncidentStoreBounds('local', (now) =>
  Promise.resolve(new LocalIncidentStore({ now, maxFingerprints: 3, maxIncidents: 5 })),
)

describe('LocalIncidentStore defaults', function () {
  it('should keep at most 1 000 tracebacks, 500 errors and 500 warnings, each kind making room among its own', async function () {
    let clock = Date.UTC(2026, 0, 5)
    const store = new LocalIncidentStore({ now: () => clock })
    for (const [kind, bound] of [
      ['traceback', 1000],
      ['error', 500],
      ['warning', 500],
    ] as const) {
      for (let i = 0; i <= bound; i++) {
        clock += 10
        await store.record(makeReport(`${kind}-${i}`, { kind }))
      }
      const { total, issues } = await store.issues({ kind, limit: 1 })
      expect(total).to.equal(bound)
      expect(issues[0]!.fingerprint).to.equal(`${kind}-${bound}`)
      expect(await store.issue(`${kind}-0`)).to.equal(undefined)
      expect(await store.issue(`${kind}-1`)).to.not.equal(undefined)
    }
    expect((await store.issues()).total).to.equal(2000)
  })
})

describe('LocalIncidentStore incident lookup', function () {
  it('should give back every field of an incident, a long multi-byte URL cut at a character', async function () {
    const store = new LocalIncidentStore()
    const url = `/search?q=${'ü€😀'.repeat(200)}`
    const report = makeReport('fp-url', { url, status: 503, kind: 'error' })
    await store.record(report)
    const found = (await store.incident(report.id.toLowerCase()))!
    expect(found).to.include({
      id: report.id,
      time: report.time,
      fingerprint: 'fp-url',
      kind: 'error',
      status: 503,
      method: 'GET',
      host: 'web-1',
    })
    expect(found.url!.endsWith('…')).to.equal(true)
    expect(url.startsWith(found.url!.slice(0, -1))).to.equal(true)
    expect(found.url).to.not.include('\uFFFD')
    expect(found.url!.length).to.be.within(200, 502)
  })

  it('should keep the newest incidents once its bound wrapped around several times', async function () {
    let clock = Date.UTC(2026, 0, 5)
    const store = new LocalIncidentStore({ now: () => clock, maxIncidents: 1500 })
    const ids: string[] = []
    for (let i = 0; i < 4000; i++) {
      clock += 1
      const report = makeReport(`fp-${i % 7}`, { url: `/orders/${i}` })
      ids.push(report.id)
      await store.record(report)
    }
    expect(await store.incident(ids[2499]!)).to.equal(undefined)
    expect((await store.incident(ids[2500]!))?.url).to.equal('/orders/2500')
    expect((await store.incident(ids[3999]!))?.url).to.equal('/orders/3999')
  })
})
