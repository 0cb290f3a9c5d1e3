import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { createApp, createHarness, type Harness } from './helpers.js'

/** The reason phrase the server sent, which supertest keeps on the raw response. */
function statusMessage(res: request.Response): string | undefined {
  return (res as unknown as { res: { statusMessage?: string } }).res.statusMessage
}

describe('errorHandler() in place of the final handler', () => {
  let h: Harness
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  function appThrowing(make: () => unknown, before?: express.RequestHandler) {
    const app = createApp(h.faultline)
    if (before) app.use(before)
    app.all('/x', () => {
      throw make()
    })
    app.use(h.faultline.errorHandler())
    return app
  }

  describe('status', () => {
    it("should use the error's status and its reason phrase", async () => {
      const res = await request(
        appThrowing(() => Object.assign(new Error('slow down'), { status: 429 })),
      )
        .get('/x')
        .expect(429)
      expect(statusMessage(res)).to.equal('Too Many Requests')
    })

    it('should keep a 4xx or 5xx status the app already set', async () => {
      const app = createApp(h.faultline)
      app.get('/x', (_req, res, next) => {
        res.status(503)
        next(new Error('upstream down'))
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).get('/x').expect(503)
      expect(statusMessage(res)).to.equal('Service Unavailable')
    })

    it('should answer 500 for a status outside 400 to 599', async () => {
      await request(appThrowing(() => Object.assign(new Error('odd'), { status: 302 })))
        .get('/x')
        .expect(500)
    })
  })

  describe('headers', () => {
    it('should send err.headers when the error has a valid status', async () => {
      const res = await request(
        appThrowing(() =>
          Object.assign(new Error('slow down'), { status: 429, headers: { 'Retry-After': '30' } }),
        ),
      )
        .get('/x')
        .expect(429)
      expect(res.headers['retry-after']).to.equal('30')
    })

    it('should ignore err.headers without a valid status, and any header value holding CR or LF', async () => {
      const noStatus = await request(
        appThrowing(() => Object.assign(new Error('x'), { headers: { 'Retry-After': '30' } })),
      )
        .get('/x')
        .expect(500)
      expect(noStatus.headers['retry-after']).to.equal(undefined)
      const injected = await request(
        appThrowing(() =>
          Object.assign(new Error('x'), {
            status: 400,
            headers: { 'X-Note': 'a\r\nSet-Cookie: owned=1', 'Set-Cookie': 'owned=1' },
          }),
        ),
      )
        .get('/x')
        .expect(400)
      expect(injected.headers['x-note']).to.equal(undefined)
      expect(injected.headers['set-cookie']).to.equal(undefined)
    })

    it('should keep app headers that still apply and drop those that described the lost body', async () => {
      const res = await request(
        appThrowing(
          () => new Error('x'),
          (_req, res, next) => {
            res.setHeader('Access-Control-Allow-Origin', 'https://shop.example')
            res.setHeader('Vary', 'Origin')
            res.setHeader('Content-Disposition', 'attachment; filename="report.csv"')
            res.setHeader('ETag', '"abc"')
            res.setHeader('Content-Language', 'fr')
            next()
          },
        ),
      )
        .get('/x')
        .expect(500)
      expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example')
      expect(res.headers.vary).to.equal('Origin')
      expect(res.headers['content-disposition']).to.equal(undefined)
      expect(res.headers.etag).to.equal(undefined)
      expect(res.headers['content-language']).to.equal(undefined)
    })

    it('should always send nosniff, no-store, the incident id, and a strict CSP on HTML', async () => {
      const res = await request(appThrowing(() => new Error('x')))
        .get('/x')
        .set('Accept', 'text/html')
        .expect(500)
      expect(res.headers['x-content-type-options']).to.equal('nosniff')
      expect(res.headers['cache-control']).to.equal('no-store')
      expect(res.headers['x-incident-id']).to.match(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
      expect(res.headers['content-security-policy']).to.match(
        /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/,
      )
    })
  })

  describe('the production page', () => {
    it('should negotiate HTML, JSON and text', async () => {
      const app = appThrowing(() => new Error('x'))
      const html = await request(app)
        .get('/x')
        .set('Accept', 'text/html,application/xhtml+xml')
        .expect('Content-Type', 'text/html; charset=utf-8')
      expect(html.text).to.contain('<h1>500 Internal Server Error</h1>')
      const json = await request(app)
        .get('/x')
        .set('Accept', 'application/json')
        .expect('Content-Type', 'application/json; charset=utf-8')
      expect(json.body).to.deep.equal({
        error: {
          status: 500,
          message: 'Internal Server Error',
          incident: json.headers['x-incident-id'],
        },
      })
      const xhr = await request(app)
        .get('/x')
        .set('X-Requested-With', 'XMLHttpRequest')
        .set('Accept', 'text/html')
      expect(xhr.headers['content-type']).to.equal('application/json; charset=utf-8')
      const text = await request(app)
        .get('/x')
        .set('Accept', 'text/plain')
        .expect('Content-Type', 'text/plain; charset=utf-8')
      expect(text.text).to.equal(
        `500 Internal Server Error\nIncident: ${text.headers['x-incident-id']}\n`,
      )
    })

    it('should answer a client that sends no Accept header, a script or a tool, with plain text', async () => {
      const res = await request(appThrowing(() => new Error('x')))
        .get('/x')
        .unset('Accept')
        .expect(500)
      expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8')
    })

    it('should send headers only for HEAD', async () => {
      const res = await request(appThrowing(() => new Error('x')))
        .head('/x')
        .expect(500)
      expect(res.text ?? '').to.equal('')
      expect(Number(res.headers['content-length'])).to.be.above(0)
      expect(res.headers['x-incident-id']).to.be.a('string')
    })

    it('should show nothing from the exception: no message, no stack, no path', async () => {
      const app = appThrowing(() => new Error('SELECT * FROM users WHERE secret_column'))
      for (const accept of ['text/html', 'application/json', 'text/plain']) {
        const res = await request(app).get('/x').set('Accept', accept).expect(500)
        expect(res.text).not.to.contain('SELECT')
        expect(res.text).not.to.contain('error-handler.test')
        expect(res.text).not.to.contain(' at ')
      }
    })

    it('should show the message of an exposed 4xx, escaped, and never that of a 5xx', async () => {
      const exposed = await request(
        appThrowing(() =>
          Object.assign(new Error('quantity must be <b>positive</b>'), {
            status: 422,
            expose: true,
          }),
        ),
      )
        .get('/x')
        .set('Accept', 'text/html')
        .expect(422)
      expect(exposed.text).to.contain('quantity must be &#60;b&#62;positive&#60;/b&#62;')
      const hidden = await request(
        appThrowing(() =>
          Object.assign(new Error('db password wrong'), { status: 503, expose: true }),
        ),
      )
        .get('/x')
        .set('Accept', 'text/html')
        .expect(503)
      expect(hidden.text).not.to.contain('db password')
    })
  })

  it('should read an unread request body before answering, so the client is not cut off mid-upload', async () => {
    const app = appThrowing(() => new Error('rejected before reading'))
    const body = 'x'.repeat(2 * 1024 * 1024)
    const res = await request(app)
      .post('/x')
      .set('Content-Type', 'text/plain')
      .send(body)
      .expect(500)
    expect(res.headers['x-incident-id']).to.be.a('string')
  })
})
