import { expect } from 'chai'
import express, { type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import { inject, Outbox } from '../lib/testing.js'
import { shouldThrow, THROW_ERRORS } from '../lib/index.js'
import { createApp, createHarness, settle, type Harness } from './helpers.js'

class OrderError extends Error {
  constructor(readonly orderId: string) {
    super(`order ${orderId} is locked`)
  }
}

describe('throw-errors', () => {
  let h: Harness
  afterEach(() => h.faultline.close())

  function orderApp() {
    const app = createApp(h.faultline)
    app.get('/orders/:id', (req) => {
      throw new OrderError(req.params.id as string)
    })
    app.get('/ok', (_req, res) => {
      res.json({ ok: true })
    })
    app.use(h.faultline.errorHandler())
    return app
  }

  describe('inject()', () => {
    beforeEach(() => {
      h = createHarness()
    })

    it('should reject with the very error object the app threw', async () => {
      const err = await inject(orderApp(), { url: '/orders/7' }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).to.be.instanceOf(OrderError)
      expect((err as OrderError).orderId).to.equal('7')
    })

    it('should still report the error that reached the test', async () => {
      await inject(orderApp(), { url: '/orders/7' }).catch(() => undefined)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'traceback', message: 'Error: order 7 is locked' })
    })

    it('should resolve with status, headers and body when nothing fails', async () => {
      const res = await inject(orderApp(), { url: '/ok' })
      expect(res.status).to.equal(200)
      expect(res.headers['content-type']).to.equal('application/json; charset=utf-8')
      expect(JSON.parse(res.body)).to.deep.equal({ ok: true })
    })

    it('should give the error page when asked not to throw', async () => {
      const res = await inject(orderApp(), {
        url: '/orders/7',
        throwErrors: false,
        headers: { accept: 'application/json' },
      })
      expect(res.status).to.equal(500)
      const [report] = await h.waitForReports(1)
      expect(JSON.parse(res.body).error.incident).to.equal(report!.id)
    })

    it('should send a body to the app', async () => {
      const app = createApp(h.faultline)
      app.post('/echo', express.json(), (req, res) => {
        res.json(req.body)
      })
      const res = await inject(app, { method: 'POST', url: '/echo', body: { a: 1 } })
      expect(JSON.parse(res.body)).to.deep.equal({ a: 1 })
    })
  })

  describe('the option', () => {
    it('should hand the error on with next(err), untouched', async () => {
      h = createHarness({ throwErrors: true })
      const app = orderApp()
      let seen: unknown
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen = err
        res.status(500).send('outer handler')
      })
      await request(app).get('/orders/9').expect(500, 'outer handler')
      expect(seen).to.be.instanceOf(OrderError)
    })
  })

  describe('the per-request flag', () => {
    beforeEach(() => {
      h = createHarness()
    })

    it('should make faultline step aside for a request the server flagged before it entered', async () => {
      const app = express()
      app.use((req, _res, next) => {
        ;(req as Request & { [THROW_ERRORS]?: boolean })[THROW_ERRORS] = req.path === '/orders/1'
        next()
      })
      app.use(orderApp())
      let seen: unknown
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen = err
        res.status(500).send('server handler')
      })
      await request(app).get('/orders/1').expect(500, 'server handler')
      expect(seen).to.be.instanceOf(OrderError)
      seen = undefined
      const res = await request(app).get('/orders/2').expect(500)
      expect(res.headers['x-incident-id']).to.be.a('string')
      expect(seen).to.equal(undefined)
    })

    it('should ignore a client header that tries to set it', async () => {
      const app = orderApp()
      for (const header of [
        'X-Wsgiorg-Throw-Errors',
        'X-Throw-Errors',
        'Throw-Errors',
        'X-Faultline-Throw-Errors',
      ]) {
        const res = await request(app).get('/orders/3').set(header, '1').expect(500)
        expect(res.headers['x-incident-id'], header).to.be.a('string')
      }
    })

    it("should tell the app's own catchers behind faultline to let errors through", async () => {
      const app = createApp(h.faultline)
      const flags: boolean[] = []
      app.get('/inner', () => {
        throw new Error('inner')
      })
      app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
        flags.push(shouldThrow(req))
        if (shouldThrow(req)) return next(err)
        res.status(500).send('inner page')
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).get('/inner').expect(500)
      expect(flags).to.deep.equal([true])
      expect(res.headers['x-incident-id']).to.be.a('string')
    })
  })

  describe('the outbox', () => {
    it('should record what would have been mailed, syslogged and ticketed', async () => {
      const outbox = new Outbox()
      h = createHarness({ transports: [outbox] })
      const app = orderApp()
      app.get('/hand', (req, res) => {
        req.log.error('ledger out of balance')
        res.status(500).end()
      })
      await inject(app, { url: '/orders/1', throwErrors: false })
      await inject(app, { url: '/hand' })
      await inject(app, { url: '/nothing-here' })
      await h.waitForReports(3)
      await settle()
      expect(outbox.reports.map((r) => r.kind)).to.have.members(['traceback', 'error', 'warning'])
      expect(outbox.mail.map((r) => r.kind)).to.have.members(['traceback', 'error'])
      expect(outbox.tickets.map((r) => r.kind)).to.deep.equal(['traceback'])
      expect(outbox.syslog).to.have.length(3)
      outbox.clear()
      expect(outbox.reports).to.have.length(0)
    })
  })
})
