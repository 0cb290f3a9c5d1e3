import { expect } from 'chai'
import express, { type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import { createApp, createHarness, settle, type Harness } from './helpers.js'

describe('request outcomes over HTTP', () => {
  let h: Harness
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  describe('tracebacks', () => {
    it('should report a synchronous throw as a traceback and show its incident id', async () => {
      const app = createApp(h.faultline)
      app.get('/orders/:id', () => {
        throw new TypeError('cannot read total of order 42')
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).get('/orders/42').set('Accept', 'text/html').expect(500)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'traceback',
        level: 'error',
        status: 500,
        locus: 'before-headers',
        app: 'test-app',
      })
      expect(report!.message).to.equal('TypeError: cannot read total of order 42')
      expect(report!.error).to.include({
        name: 'TypeError',
        message: 'cannot read total of order 42',
      })
      expect(report!.error!.stack).to.contain('outcomes.test.ts')
      expect(report!.request).to.include({ method: 'GET', url: '/orders/42', route: '/orders/:id' })
      expect(res.headers['x-incident-id']).to.equal(report!.id)
      expect(res.text).to.contain(report!.id)
      expect(report!.pid).to.equal(process.pid)
      expect(Date.parse(report!.time)).to.be.closeTo(Date.now(), 5000)
    })

    it('should report an async rejection as a traceback', async () => {
      const app = createApp(h.faultline)
      app.get('/async', async () => {
        await new Promise((resolve) => setTimeout(resolve, 2))
        throw new RangeError('async failure')
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/async').expect(500)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'traceback', status: 500 })
      expect(report!.error!.name).to.equal('RangeError')
    })

    it('should report an error passed to next() with its cause chain and AggregateError members', async () => {
      const app = createApp(h.faultline)
      app.get('/next', (_req, _res, next) => {
        const root = new AggregateError(
          [new Error('replica a down'), new Error('replica b down')],
          'all replicas failed',
        )
        next(new Error('cannot load cart', { cause: root }))
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/next').expect(500)
      const [report] = await h.waitForReports(1)
      expect(report!.error!.cause!.message).to.equal('all replicas failed')
      expect(report!.error!.cause!.errors!.map((e) => e.message)).to.deep.equal([
        'replica a down',
        'replica b down',
      ])
    })

    it('should produce a JSON-safe report and log it through the winston logger at error', async () => {
      const app = createApp(h.faultline)
      app.get('/boom', () => {
        throw new Error('boom')
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/boom').expect(500)
      const [report] = await h.waitForReports(1)
      expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report)
      const record = await h.waitForRecord((r) => r.id === report!.id)
      expect(record).to.include({
        level: 'error',
        kind: 'traceback',
        message: 'Error: boom',
        fingerprint: report!.fingerprint,
      })
    })
  })

  describe('hand-written errors', () => {
    it('should make one error report of a logged error and the 500 it caused', async () => {
      const app = createApp(h.faultline)
      app.get('/checkout', (req, res) => {
        req.log.error('inventory out of sync for order %s', 'A-17')
        res.status(500).send('our own page')
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).get('/checkout').expect(500)
      expect(res.text).to.equal('our own page')
      await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(h.reports[0]).to.include({
        kind: 'error',
        level: 'error',
        status: 500,
        message: 'inventory out of sync for order A-17',
      })
      expect(h.reports[0]!.logs).to.deep.equal([
        { level: 'error', message: 'inventory out of sync for order A-17' },
      ])
      expect(h.records.filter((r) => r.level === 'error')).to.have.length(1)
    })

    it("should give a hand-written error its incident id at once, for the app's own page and header", async () => {
      const app = createApp(h.faultline)
      app.get('/checkout', (req, res) => {
        req.log.error('card processor refused the batch')
        res.status(500).send(`sorry, quote ${h.faultline.incidentId(req)}`)
      })
      const res = await request(app).get('/checkout').expect(500)
      const [report] = await h.waitForReports(1)
      expect(res.text).to.equal(`sorry, quote ${report!.id}`)
      expect(res.headers['x-incident-id']).to.equal(report!.id)
    })

    it('should report a logged error even when the response succeeds', async () => {
      const app = createApp(h.faultline)
      app.get('/save', (req, res) => {
        req.log.error('audit trail write failed')
        res.send('saved')
      })
      await request(app).get('/save').expect(200)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'error', status: 200, message: 'audit trail write failed' })
    })

    it('should report a 5xx page the app rendered without throwing (Django ticket 16674)', async () => {
      const app = createApp(h.faultline)
      app.get('/legacy', (_req, res) => {
        res.status(503).send('maintenance')
      })
      await request(app).get('/legacy').expect(503)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'error', status: 503 })
      expect(report!.message).to.contain('503 Service Unavailable response with no exception')
    })

    it('should pass info lines straight to the logger, bound to the request, with no report', async () => {
      const app = createApp(h.faultline)
      app.get('/hello', (req, res) => {
        req.log.info('greeting %s', 'ada')
        res.send('hi')
      })
      await request(app).get('/hello?x=1').expect(200)
      const record = await h.waitForRecord((r) => r.level === 'info')
      expect(record).to.include({ method: 'GET', url: '/hello?x=1' })
      await settle()
      expect(h.reports).to.have.length(0)
    })

    it('should treat req.log.warn as a warning', async () => {
      const app = createApp(h.faultline)
      app.get('/deprecated', (req, res) => {
        req.log.warn('deprecated endpoint used')
        res.send('ok')
      })
      await request(app).get('/deprecated').expect(200)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        level: 'warn',
        message: 'deprecated endpoint used',
      })
    })

    it('should report an error logged after the response ended on its own', async () => {
      const app = createApp(h.faultline)
      app.get('/later', (req, res) => {
        res.send('done')
        setTimeout(() => req.log.error('background sync failed'), 30)
      })
      await request(app).get('/later').expect(200)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'error',
        message: 'background sync failed',
        locus: 'at-close',
      })
    })
  })

  describe('warnings', () => {
    it('should report a 404 with its referer, and whether it is an internal link', async () => {
      const app = createApp(h.faultline)
      const agent = request(app)
      await agent
        .get('/gone')
        .set('Host', 'shop.test')
        .set('Referer', 'http://shop.test/catalogue')
        .expect(404)
      await agent
        .get('/gone')
        .set('Host', 'shop.test')
        .set('Referer', 'https://search.example/?q=shop')
        .expect(404)
      const [internal, external] = await h.waitForReports(2)
      expect(internal).to.include({ kind: 'warning', level: 'warn', status: 404 })
      expect(internal!.request).to.include({
        referer: 'http://shop.test/catalogue',
        internalReferer: true,
      })
      expect(external!.request).to.include({
        referer: 'https://search.example/?q=shop',
        internalReferer: false,
      })
    })

    it('should report a thrown 4xx as a warning, not a traceback', async () => {
      const app = createApp(h.faultline)
      app.get('/items/:id', () => {
        throw Object.assign(new Error('no such item'), { status: 404, expose: true })
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).get('/items/9').set('Accept', 'application/json').expect(404)
      expect(res.body.error.message).to.equal('no such item')
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'warning', status: 404 })
    })
  })

  describe('exactly once, whatever the middleware order', () => {
    it('should report once when the app has its own error middleware before ours', async () => {
      const app = createApp(h.faultline)
      app.get('/fail', () => {
        throw new Error('handled by the app')
      })
      app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        res.status(500).send('app page')
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/fail').expect(500, 'app page')
      await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(h.reports[0]).to.include({ kind: 'error', status: 500 })
    })

    it('should give a full traceback when the app calls capture(), and leave its page alone', async () => {
      const app = createApp(h.faultline)
      app.get('/fail', () => {
        throw new Error('handled by the app')
      })
      app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
        const id = h.faultline.capture(err, req)
        res.status(500).send(`app page, incident ${id}`)
      })
      const res = await request(app).get('/fail').expect(500)
      await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(h.reports[0]).to.include({ kind: 'traceback', message: 'Error: handled by the app' })
      expect(res.text).to.equal(`app page, incident ${h.reports[0]!.id}`)
    })

    it('should take an error the app left in res.locals.error', async () => {
      const app = createApp(h.faultline)
      app.get('/fail', () => {
        throw new Error('kept in locals')
      })
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        res.locals.error = err
        res.status(500).send('app page')
      })
      await request(app).get('/fail').expect(500, 'app page')
      await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(h.reports[0]).to.include({ kind: 'traceback', message: 'Error: kept in locals' })
    })

    it('should report once when the app has its own error middleware after ours', async () => {
      const app = createApp(h.faultline)
      let appHandlerCalled = false
      app.get('/fail', () => {
        throw new Error('ours first')
      })
      app.use(h.faultline.errorHandler())
      app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        appHandlerCalled = true
        res.status(500).send('app page')
      })
      await request(app).get('/fail').expect(500)
      await h.waitForReports(1)
      await settle()
      expect(appHandlerCalled).to.equal(false)
      expect(h.reports).to.have.length(1)
    })

    it('should report once when the error is handed on to the app under throwErrors', async () => {
      const t = createHarness({ throwErrors: true })
      try {
        const app = createApp(t.faultline)
        app.get('/fail', () => {
          throw new Error('handed on')
        })
        app.use(t.faultline.errorHandler())
        app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
          res.status(500).send(`app saw: ${err.message}`)
        })
        await request(app).get('/fail').expect(500, 'app saw: handed on')
        await t.waitForReports(1)
        await settle()
        expect(t.reports).to.have.length(1)
        expect(t.reports[0]).to.include({ kind: 'traceback' })
      } finally {
        await t.faultline.close()
      }
    })

    it('should report a hand-written error and an exception in one request once', async () => {
      const app = createApp(h.faultline)
      app.get('/both', (req) => {
        req.log.error('payment provider answered garbage')
        throw new Error('cannot parse provider answer')
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/both').expect(500)
      await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(h.reports[0]).to.include({ kind: 'traceback' })
      expect(h.reports[0]!.logs![0]!.message).to.equal('payment provider answered garbage')
    })
  })

  describe('storms', () => {
    it('should record a repeat within a minute compactly, with its own incident id and a pointer to the full report', async () => {
      const app = createApp(h.faultline)
      app.get('/orders/:id', (req) => {
        throw new TypeError(`no order ${req.params.id}`)
      })
      app.use(h.faultline.errorHandler())
      const first = await request(app).get('/orders/1?token=repeat-secret-1').expect(500)
      const second = await request(app)
        .get('/orders/2?token=repeat-secret-2')
        .set('Referer', 'http://elsewhere.example/')
        .expect(500)
      const [full, repeat] = await h.waitForReports(2)
      expect(full!.error!.stack).to.be.a('string')
      expect(full!.repeatOf).to.equal(undefined)
      expect(repeat).to.include({
        kind: 'traceback',
        status: 500,
        message: 'TypeError: no order 2',
        fingerprint: full!.fingerprint,
        repeatOf: full!.id,
      })
      expect(repeat!.error).to.deep.equal({ name: 'TypeError', message: 'no order 2' })
      expect(repeat!.request).to.include({
        method: 'GET',
        url: '/orders/2?token=%5Bscrubbed%5D',
        route: '/orders/:id',
        referer: 'http://elsewhere.example/',
        internalReferer: false,
      })
      expect(first.headers['x-incident-id']).to.equal(full!.id)
      expect(second.headers['x-incident-id']).to.equal(repeat!.id)
      expect(JSON.stringify(h.reports)).not.to.contain('repeat-secret')
    })

    it('should report an error with a cause in full every time: its chain may differ', async () => {
      const app = createApp(h.faultline)
      app.get('/pay', () => {
        throw new Error('payment failed', { cause: new Error(`gateway said ${Math.random()}`) })
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/pay').expect(500)
      await request(app).get('/pay').expect(500)
      const reports = await h.waitForReports(2)
      expect(reports.map((r) => r.repeatOf)).to.deep.equal([undefined, undefined])
      expect(reports.every((r) => r.error!.cause)).to.equal(true)
    })
  })

  describe('capture() outside a request', () => {
    it('should report a background job error at once and return its incident id', async () => {
      const id = h.faultline.capture(new Error('nightly export failed'))
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ id, kind: 'traceback', message: 'Error: nightly export failed' })
      expect(report!.request).to.equal(undefined)
    })
  })

  it('should work with express.Router mounted under a path', async () => {
    const app = createApp(h.faultline)
    const router = express.Router()
    router.get('/items/:id', () => {
      throw new Error('mounted')
    })
    app.use('/api', router)
    app.use(h.faultline.errorHandler())
    await request(app).get('/api/items/3').expect(500)
    const [report] = await h.waitForReports(1)
    expect(report!.request!.route).to.equal('/api/items/:id')
  })
})
