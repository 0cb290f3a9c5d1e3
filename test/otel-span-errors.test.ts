import type { IncomingMessage, ServerResponse } from 'node:http'
import { SpanStatusCode, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { expect } from 'chai'
import type { Express } from 'express'
import request from 'supertest'
import type { Report } from '../lib/index.js'
import { createApp, createHarness, waitUntil, type Harness } from './helpers.js'
import { tracingForSuite } from './support/tracing.js'

const SECRET = 'tok-5f1c9a7e2b8d4c6a'

/**
 * The app inside a server span, ended as OpenTelemetry's HTTP instrumentation
 * ends it: as soon as the response is ended, before the response closes and
 * faultline builds its report.
 */
function insideHttpSpan(app: Express) {
  return (req: IncomingMessage, res: ServerResponse) =>
    trace.getTracer('faultline-test').startActiveSpan(`${req.method}`, (span) => {
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
      res.end = ((...args: unknown[]) => {
        const returned = end(...args)
        span.end()
        return returned
      }) as ServerResponse['end']
      app(req, res)
    })
}

describe('errors on the OpenTelemetry span', () => {
  const exporter = tracingForSuite()
  let h: Harness

  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  function appWithRoutes(): Express {
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new TypeError(`upstream refused ${SECRET}`)
    })
    app.get('/own-500', (_req, res) => {
      res.status(500).send('our own page')
    })
    app.get('/logged', (req, res) => {
      req.log.error('payment {provider} declined', { provider: 'acme' })
      res.status(503).send('try later')
    })
    app.get('/bad-input', () => {
      throw Object.assign(new Error('quantity must be a number'), { status: 400 })
    })
    app.use(h.faultline.errorHandler())
    return app
  }

  async function spanOf(path: string, status: number): Promise<[ReadableSpan, Report | undefined]> {
    await request(insideHttpSpan(appWithRoutes()))
      .get(path)
      .set('Authorization', `Bearer ${SECRET}`)
      .expect(status)
    const [span] = await waitUntil(
      () => (exporter.getFinishedSpans().length ? exporter.getFinishedSpans() : undefined),
      10_000,
      'the server span',
    )
    const reports = status === 404 || status === 400 ? [] : await h.waitForReports(1)
    return [span!, reports[0]]
  }

  it('should record a traceback on the request span, scrubbed, with its status ERROR and the incident', async () => {
    const [span, report] = await spanOf('/boom', 500)
    expect(span.status.code).to.equal(SpanStatusCode.ERROR)
    expect(span.attributes).to.include({
      'faultline.incident_id': report!.id,
      'faultline.fingerprint': report!.fingerprint,
    })
    const events = span.events.filter((e) => e.name === 'exception')
    expect(events).to.have.length(1)
    const attributes = events[0]!.attributes!
    expect(attributes['exception.type']).to.equal('TypeError')
    expect(attributes['exception.message']).to.equal(report!.error!.message)
    expect(attributes['exception.message']).to.contain('upstream refused')
    const stack = String(attributes['exception.stacktrace'])
    expect(stack).to.contain('otel-span-errors.test.ts')
    // the bearer token the request carried is scrubbed on the span as on every sink
    expect(JSON.stringify([span.attributes, span.events, span.status])).not.to.contain(SECRET)
  })

  it('should cut a huge stack to a bound on the span', async () => {
    const app = createApp(h.faultline)
    app.get('/huge', () => {
      const err = new Error('deep')
      err.stack = `Error: deep\n${'    at frame (/app/x.js:1:1)\n'.repeat(100_000)}`
      throw err
    })
    app.use(h.faultline.errorHandler())
    await request(insideHttpSpan(app)).get('/huge').expect(500)
    const [span] = await waitUntil(
      () => (exporter.getFinishedSpans().length ? exporter.getFinishedSpans() : undefined),
      10_000,
      'the server span',
    )
    const event = span!.events.find((e) => e.name === 'exception')!
    expect(String(event.attributes!['exception.stacktrace']).length).to.be.at.most(8193)
  })

  it('should record a thrown value of any shape, and survive a span whose methods throw', async () => {
    const app = createApp(h.faultline)
    app.get('/string', () => {
      throw `no stock for ${SECRET}`
    })
    app.get('/broken-span', () => {
      const span = trace.getActiveSpan()!
      span.recordException = () => {
        throw new Error('exporter exploded')
      }
      throw new Error('the real error')
    })
    app.use(h.faultline.errorHandler())
    await request(insideHttpSpan(app))
      .get('/string')
      .set('Authorization', `Bearer ${SECRET}`)
      .expect(500)
    const [span] = await waitUntil(
      () => (exporter.getFinishedSpans().length ? exporter.getFinishedSpans() : undefined),
      10_000,
      'the server span',
    )
    const [report] = await h.waitForReports(1)
    const event = span!.events.find((e) => e.name === 'exception')!
    expect(event.attributes!['exception.type']).to.equal('NonError')
    expect(span!.attributes['faultline.incident_id']).to.equal(report!.id)
    expect(JSON.stringify(span!.events)).not.to.contain(SECRET)
    const res = await request(insideHttpSpan(app)).get('/broken-span').expect(500)
    expect(res.text).to.contain('Incident')
  })

  it("should mark the span of a 5xx the app answered itself, with the report's incident and fingerprint", async () => {
    const [span, report] = await spanOf('/own-500', 500)
    expect(report!.kind).to.equal('error')
    expect(span.status.code).to.equal(SpanStatusCode.ERROR)
    expect(span.attributes).to.include({
      'faultline.incident_id': report!.id,
      'faultline.fingerprint': report!.fingerprint,
    })
    expect(span.events.filter((e) => e.name === 'exception')).to.have.length(1)
  })

  it('should mark the span of a hand-written error logged with req.log.error', async () => {
    const [span, report] = await spanOf('/logged', 503)
    expect(report!.kind).to.equal('error')
    expect(span.status.code).to.equal(SpanStatusCode.ERROR)
    expect(span.attributes).to.include({
      'faultline.incident_id': report!.id,
      'faultline.fingerprint': report!.fingerprint,
    })
    const events = span.events.filter((e) => e.name === 'exception')
    expect(events).to.have.length(1)
    expect(events[0]!.attributes!['exception.message']).to.equal(report!.message)
  })

  for (const [path, status] of [
    ['/bad-input', 400],
    ['/nowhere', 404],
  ] as const)
    it(`should leave the span of a warning alone (${status} on ${path})`, async () => {
      const [span] = await spanOf(path, status)
      expect(span.status.code).to.equal(SpanStatusCode.UNSET)
      expect(span.events).to.have.length(0)
      expect(Object.keys(span.attributes).filter((k) => k.startsWith('faultline.'))).to.deep.equal(
        [],
      )
    })
})
