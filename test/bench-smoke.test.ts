import { expect } from 'chai'
import { runSmoke, EXPECTED_STATUS } from '../bench/smoke.js'
import type { SmokeResult } from '../bench/smoke.js'

// One request per route per contender, each in its own process, as the bench
// starts them — without wrk. Proves every contender answers every route and
// records what it must, so the bench's comparison is between working setups.
describe('bench smoke mode', function () {
  this.timeout(90_000)
  let results: SmokeResult[]

  before(async () => {
    results = await runSmoke()
  })

  it('should start every contender and answer every route with the expected status', () => {
    expect(results.map((r) => r.contender)).to.deep.equal([
      'bare',
      'bare-noop',
      'faultline',
      'faultline-all',
      'floor',
      'express-winston',
      'pino-http',
      'sentry',
    ])
    for (const r of results) expect(r.statuses, r.contender).to.deep.equal(EXPECTED_STATUS)
  })

  it('should have every contender prove its work', () => {
    for (const r of results) expect(r.problems, r.contender).to.deep.equal([])
  })

  it('should have faultline make one report per error request, one file line per report, a mail for the first traceback', () => {
    const evidence = results.find((r) => r.contender === 'faultline')!.evidence!
    expect(evidence.requests).to.deep.equal({
      '/ok': 1,
      '/missing': 1,
      '/boom': 1,
      '/async-boom': 1,
      '/hand': 1,
    })
    expect(evidence.counts).to.include({
      'reports.warning': 1,
      'reports.error': 1,
      'reports.traceback': 2,
      'file.lines': 4,
      'file.distinctIds': 4,
    })
    expect(evidence.counts.mails).to.be.at.least(2)
    expect(evidence.ids).to.have.length(4)
    expect(evidence.closeMs).to.be.below(1000)
  })

  it('should have faultline with every transport send a syslog datagram per report and file a ticket per distinct traceback', () => {
    const evidence = results.find((r) => r.contender === 'faultline-all')!.evidence!
    expect(evidence.counts).to.include({
      'file.lines': 4,
      'file.distinctIds': 4,
      'syslog.datagrams': 4,
      tickets: 2,
    })
    expect(evidence.counts.mails).to.be.at.least(2)
  })

  it('should have the peers write a log line or event per error, none for /ok', () => {
    const counts = (name: string) => results.find((r) => r.contender === name)!.evidence!.counts
    expect(counts('express-winston')).to.include({
      'file.lines': 4,
      'file.warn': 1,
      'file.thrown': 2,
      'file.hand': 1,
    })
    expect(counts('pino-http')).to.include({ 'file.warn': 1, 'file.withErr': 3, 'file.hand': 1 })
    expect(counts('sentry')).to.include({ 'sink.events': 3 })
  })

  it('should have the floor write a line with its own id per 4xx and 5xx, none for /ok', () => {
    const counts = results.find((r) => r.contender === 'floor')!.evidence!.counts
    expect(counts).to.include({ 'file.lines': 4, 'file.distinctIds': 4 })
  })
})
