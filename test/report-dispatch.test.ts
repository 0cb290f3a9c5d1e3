import { expect } from 'chai'
import request from 'supertest'
import { captureStderr, createApp, createHarness, settle, type Harness } from './helpers.js'
import { spawnScript } from './support/processes.js'

describe('one way out for a report', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 1000 })
    h = undefined
  })

  it('should send out the very report the debug page showed, to its time', async () => {
    h = createHarness({ debug: true })
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new TypeError('order total is undefined')
    })
    app.use(h.faultline.errorHandler())
    const res = await request(app).get('/boom').set('Accept', 'application/json').expect(500)
    const [report] = await h.waitForReports(1)
    const shown = (res.body as { debug: { report: unknown } }).debug.report
    expect(JSON.parse(JSON.stringify(report))).to.deep.equal(shown)
  })

  it('should build the report anew when the outcome changed after the debug page', async () => {
    h = createHarness({ debug: true })
    const app = createApp(h.faultline)
    app.get('/boom', (req, res, next) => {
      res.on('finish', () => req.log.error('ledger left unbalanced after the page'))
      next(new TypeError('order total is undefined'))
    })
    app.use(h.faultline.errorHandler())
    const res = await request(app).get('/boom').set('Accept', 'application/json').expect(500)
    const [report] = await h.waitForReports(1)
    expect((res.body as { debug: { report: { logs?: unknown[] } } }).debug.report.logs).to.equal(
      undefined,
    )
    expect(report!.logs).to.have.length(1)
    expect(report!.id).to.equal(res.headers['x-incident-id'])
  })

  it('should hand a report raised after close() to the report event and to stderr', async () => {
    h = createHarness()
    await h.faultline.close({ timeoutMs: 1000 })
    let id = ''
    const written = await captureStderr(() => {
      id = h!.faultline.capture(new TypeError('a background job failed late'))
    })
    await settle()
    expect(h.reports.map((r) => r.id)).to.deep.equal([id])
    expect(written).to.contain(id).and.to.contain('a background job failed late')
    expect(h.records).to.deep.equal([])
  })

  it('should record a client that hung up for the transports at info, and not as a report', async () => {
    h = createHarness()
    const app = createApp(h.faultline)
    app.get('/slow', (req, res) => {
      req.socket.destroy()
      setTimeout(() => res.end('late'), 10)
    })
    app.use(h.faultline.errorHandler())
    await request(app)
      .get('/slow')
      .catch(() => undefined)
    const record = await h.waitForRecord((r) => r.event === 'aborted')
    expect(record).to.include({ level: 'info' })
    expect(h.reports).to.deep.equal([])
  })

  it("should write a crash report through an app's own transport too, after the report event, before the process exits", async function () {
    this.timeout(20_000)
    const crashed = spawnScript('crash-custom-transport.ts')
    expect(await crashed.exited).to.equal(1)
    const [event, line] = crashed.lines
    const report = JSON.parse(line!) as { id: string; message: string; locus: string }
    expect(report).to.include({
      message: 'TypeError: inventory cache is corrupt (uncaught exception)',
      locus: 'process',
    })
    expect(event).to.equal(`event ${report.id}`)
  })
})
