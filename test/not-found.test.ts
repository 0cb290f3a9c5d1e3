import { expect } from 'chai'
import type { Express } from 'express'
import request from 'supertest'
import type { ErrorPageContext, FaultlineOptions } from '../lib/index.js'
import { createApp, createHarness, settle, type Harness } from './helpers.js'

const INCIDENT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/

function build(
  options: FaultlineOptions = {},
  render?: (ctx: ErrorPageContext) => string | undefined,
): { h: Harness; app: Express } {
  const h = createHarness(options)
  const app = createApp(h.faultline)
  app.get('/orders', (_req, res) => {
    res.json([])
  })
  app.use(h.faultline.notFound(render ? { render } : {}))
  app.use(h.faultline.errorHandler(render ? { render } : {}))
  return { h, app }
}

describe('faultline.notFound()', function () {
  const open: Harness[] = []
  const make = (...args: Parameters<typeof build>) => {
    const built = build(...args)
    open.push(built.h)
    return built
  }

  after(async function () {
    await Promise.all(open.map((h) => h.faultline.close()))
  })

  it('should answer a JSON client with a JSON 404 carrying the incident id of its warning', async function () {
    const { h, app } = make()
    const res = await request(app).get('/orders/missing').set('Accept', 'application/json')
    expect(res.status).to.equal(404)
    const id = res.headers['x-incident-id'] as string
    expect(id).to.match(INCIDENT)
    expect(res.body).to.deep.equal({ error: { status: 404, message: 'Not Found', incident: id } })
    const [report] = await h.waitForReports(1)
    expect(report).to.include({ id, kind: 'warning', level: 'warn', status: 404 })
    expect(report!.error).to.equal(undefined)
    await settle()
    expect(h.reports).to.have.length(1)
  })

  it("should answer a browser with the production page, an XHR with JSON, and never Express's own", async function () {
    const { app } = make()
    const html = await request(app).get('/nope').set('Accept', 'text/html')
    expect(html.status).to.equal(404)
    expect(html.headers['content-security-policy']).to.include("default-src 'none'")
    expect(html.text).to.include('404 Not Found').and.include(html.headers['x-incident-id'])
    expect(html.text).not.to.include('Cannot GET')
    const xhr = await request(app).get('/nope').set('X-Requested-With', 'XMLHttpRequest')
    expect(xhr.headers['content-type']).to.match(/^application\/json/)
    const text = await request(app).get('/nope')
    expect(text.text).to.equal(`404 Not Found\nIncident: ${text.headers['x-incident-id']}\n`)
  })

  it('should send headers only for HEAD', async function () {
    const { app } = make()
    const res = await request(app).head('/nope').set('Accept', 'text/html')
    expect(res.status).to.equal(404)
    expect(res.headers['x-incident-id']).to.match(INCIDENT)
    expect(res.text ?? '').to.equal('')
  })

  it("should use the app's renderer, the same one errorHandler() takes", async function () {
    const { app } = make({}, ({ type, reason, status, incidentId }) =>
      type === 'json' ? JSON.stringify({ message: reason, code: status, incidentId }) : undefined,
    )
    const res = await request(app).get('/nope').set('Accept', 'application/json')
    expect(res.body).to.deep.equal({
      message: 'Not Found',
      code: 404,
      incidentId: res.headers['x-incident-id'],
    })
    const html = await request(app).get('/nope').set('Accept', 'text/html')
    expect(html.text).to.include('404 Not Found')
  })

  it('should answer the 404 under throw-errors too: there is no error to hand on', async function () {
    const { h, app } = make({ throwErrors: true })
    const res = await request(app).get('/nope').set('Accept', 'application/json')
    expect(res.status).to.equal(404)
    expect((res.body as { error: { incident: string } }).error.incident).to.equal(
      res.headers['x-incident-id'],
    )
    await h.waitForReports(1)
  })

  it('should show the debug page in debug mode: the warning it reports, with the scrubbed request', async function () {
    const { h, app } = make({ debug: true })
    const res = await request(app)
      .get('/nope?token=s3cr3t-value')
      .set('Accept', 'application/json')
      .set('Cookie', 'session=abc123def')
    expect(res.status).to.equal(404)
    const body = res.body as { debug: { report: { id: string; kind: string; status: number } } }
    expect(body.debug.report).to.include({
      id: res.headers['x-incident-id'],
      kind: 'warning',
      status: 404,
    })
    expect(res.text).not.to.include('s3cr3t-value').and.not.include('abc123def')
    const [report] = await h.waitForReports(1)
    expect(report!.id).to.equal(body.debug.report.id)
  })

  it('should refuse a render option that is not a function, at start-up', function () {
    const h = createHarness()
    open.push(h)
    expect(() => h.faultline.notFound({ render: 'error.html' as never })).to.throw(
      TypeError,
      'notFound option "render" must be a function',
    )
  })
})
