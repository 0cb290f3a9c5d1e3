import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { createApp, createHarness, waitUntil, type Harness } from '../helpers.js'
import { rsyslogForSuite, type Rsyslog } from '../support/rsyslog.js'

/** An app whose /fail/:n raises a traceback of its own fingerprint. */
function failingApp(h: Harness) {
  const app = createApp(h.faultline)
  app.get('/fail/:n', (req) => {
    throw Object.assign(new Error('receiver restart test'), { name: `Restart${req.params.n}Error` })
  })
  app.use(h.faultline.errorHandler())
  return request(app)
}

/**
 * 200 tracebacks in a row; rsyslog gets SIGTERM after the 80th (while requests go on) and starts again
 * after the 140th. Returns how many times rsyslog stored each report, by incident id.
 */
async function runThroughRestart(rsyslog: Rsyslog, h: Harness): Promise<number[]> {
  const agent = failingApp(h)
  let stopping: Promise<void> | undefined
  for (let i = 0; i < 200; i++) {
    if (i === 80) stopping = rsyslog.stop()
    if (i === 140) {
      await stopping
      await rsyslog.start()
    }
    const res = await agent.get(`/fail/${i}`)
    expect(res.status, `request ${i}`).to.equal(500)
  }
  await h.waitForReports(200)
  const ids = h.reports.map((r) => r.id)
  const countOf = (records: ReturnType<Rsyslog['records']>, id: string) =>
    records.filter((r) => r.structuredData.includes(`id="${id}"`)).length
  await waitUntil(
    () => {
      const records = rsyslog.records()
      return ids.every((id) => countOf(records, id) >= 1) ? true : undefined
    },
    60_000,
    'all 200 reports in rsyslog',
  )
  const records = rsyslog.records()
  return ids.map((id) => countOf(records, id))
}

describe('syslog across a receiver restart (real rsyslog, SIGTERM mid-run)', function () {
  this.timeout(180_000)
  const rsyslog = rsyslogForSuite()
  let dir: string
  let h: Harness | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-restart-'))
  })
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 2000 })
    h = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it('should deliver each of 200 reports exactly once over relp://', async () => {
    const harness = createHarness({
      spoolDir: dir,
      syslog: `relp://127.0.0.1:${rsyslog().relpPort}`,
    })
    h = harness
    const counts = await runThroughRestart(rsyslog(), harness)
    expect(
      counts.filter((n) => n !== 1),
      'reports not stored exactly once',
    ).to.deep.equal([])
    expect(
      rsyslog()
        .records()
        .filter((r) => r.input === 'relp'),
    ).to.have.length.at.least(200)
    // rsyslog stores a message before its acknowledgement reaches the transport
    await waitUntil(
      () => (harness.faultline.stats().syslog!.delivered! >= 200 ? true : undefined),
      10_000,
      '200 acknowledgements',
    )
    expect(harness.faultline.stats().syslog).to.include({ delivered: 200, dropped: 0, resent: 0 })
  })

  it('should deliver each of 200 reports at least once over tcp://, resending what was in doubt', async () => {
    h = createHarness({ spoolDir: dir, syslog: `tcp://127.0.0.1:${rsyslog().tcpPort}` })
    const counts = await runThroughRestart(rsyslog(), h)
    const duplicates = counts.filter((n) => n > 1).length
    console.log(
      `      tcp:// through a restart: 200 of 200 arrived, ${duplicates} twice or more (resent: ${h.faultline.stats().syslog!.resent})`,
    )
    expect(counts.filter((n) => n < 1)).to.deep.equal([])
    expect(h.faultline.stats().syslog!.dropped).to.equal(0)
  })

  it('should deliver over relp+tls:// with a client certificate, each report once', async () => {
    const harness = createHarness({
      spoolDir: dir,
      syslog: {
        url: `relp+tls://localhost:${rsyslog().relpTlsPort}`,
        tls: { ca: rsyslog().caFile, cert: rsyslog().serverCertFile, key: rsyslog().serverKeyFile },
      },
    })
    h = harness
    const agent = failingApp(harness)
    for (let i = 0; i < 20; i++) expect((await agent.get(`/fail/tls${i}`)).status).to.equal(500)
    const ids = (await harness.waitForReports(20)).map((r) => r.id)
    await waitUntil(
      () => (harness.faultline.stats().syslog!.delivered! >= 20 ? true : undefined),
      20_000,
      '20 acknowledgements',
    )
    const stored = rsyslog()
      .records()
      .filter((r) => r.input === 'relptls')
    expect(
      ids.map((id) => stored.filter((r) => r.structuredData.includes(`id="${id}"`)).length),
    ).to.deep.equal(ids.map(() => 1))
  })
})
