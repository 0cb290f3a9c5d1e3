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
  it('should keep at most 10 000 fingerprints, dropping the one seen longest ago', async function () {
    let clock = Date.UTC(2026, 0, 5)
    const store = new LocalIncidentStore({ now: () => clock })
    for (let i = 0; i <= 10_000; i++) {
      clock += 10
      await store.record(makeReport(`fp-${i}`))
    }
    const { total, issues } = await store.issues({ limit: 1 })
    expect(total).to.equal(10_000)
    expect(issues[0]!.fingerprint).to.equal('fp-10000')
    expect(await store.issue('fp-0')).to.equal(undefined)
    expect(await store.issue('fp-1')).to.not.equal(undefined)
  })
})
