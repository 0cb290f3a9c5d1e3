import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import request from 'supertest'
import type { FaultlineOptions, Report } from '../lib/index.js'
import { createHarness, settle, waitUntil, type Harness } from './helpers.js'

const INCIDENT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/

type ErrorMiddleware = (err: unknown, req: Request, res: Response, next: NextFunction) => void

/** The one report of a request to `path`, after a window in which a second would have arrived. */
async function onlyReportOf(h: Harness, path: string): Promise<Report> {
  // the query is compared without its values, which the report scrubs
  const bare = (url: string | undefined) => url?.split('?')[0]
  const of = () => h.reports.filter((r) => bare(r.request?.url) === bare(path))
  await waitUntil(() => (of().length ? true : undefined), 10_000, `a report of ${path}`)
  await settle()
  expect(of(), `reports of ${path}`).to.have.length(1)
  return of()[0]!
}

/** Requests `path` and checks what a user would: the header's id is the one report's. */
async function expectOneIncident(
  h: Harness,
  app: Express,
  path: string,
  expected: { status: number; kind: Report['kind'] },
): Promise<{ res: request.Response; report: Report }> {
  const res = await request(app).get(path)
  expect(res.status).to.equal(expected.status)
  const id = res.headers['x-incident-id'] as string | undefined
  expect(id, 'X-Incident-Id').to.match(INCIDENT)
  const report = await onlyReportOf(h, path)
  expect(report).to.include({ id, kind: expected.kind, status: expected.status })
  return { res, report }
}

describe('apps that answer their own 404s and errors (no faultline.notFound() or errorHandler() on the path)', function () {
  const open: Harness[] = []
  let views: string

  const make = (options: FaultlineOptions = {}) => {
    const h = createHarness(options)
    open.push(h)
    const app = express()
    app.use(h.faultline.requestHandler())
    app.get('/boom', () => {
      throw new Error('the ledger is locked')
    })
    return { h, app }
  }

  before(async function () {
    views = await mkdtemp(join(tmpdir(), 'faultline-own-pages-'))
    await writeFile(join(views, 'error.txt'), 'Sorry: {{message}}')
  })

  after(async function () {
    await Promise.all(open.map((h) => h.faultline.close()))
    await rm(views, { recursive: true, force: true })
  })

  /** A tiny view engine, so `res.render` runs as it does with pug or ejs. */
  const useViews = (app: Express) => {
    app.engine(
      'txt',
      (_path: string, options: object, callback: (e: unknown, s?: string) => void) =>
        callback(null, `Sorry: ${String((options as { message?: unknown }).message)}`),
    )
    app.set('views', views)
    app.set('view engine', 'txt')
  }

  describe('its own catch-all 404', function () {
    it('should send X-Incident-Id with the id of the one warning it reports', async function () {
      const { h, app } = make()
      app.use((_req, res) => {
        res.status(404).send('no such page')
      })
      const { res } = await expectOneIncident(h, app, '/missing', { status: 404, kind: 'warning' })
      expect(res.text).to.equal('no such page')
    })

    it('should give faultline.incidentId(req) in the handler the same id as the header and the report', async function () {
      const { h, app } = make()
      app.use((req, res) => {
        res.status(404).json({ message: 'Not here', incident: h.faultline.incidentId(req) })
      })
      const { res, report } = await expectOneIncident(h, app, '/gone', {
        status: 404,
        kind: 'warning',
      })
      expect((res.body as { incident: string }).incident).to.equal(report.id)
    })

    it('should stamp a 4xx written with res.writeHead and raw headers too', async function () {
      const { h, app } = make()
      app.use((_req, res) => {
        res.writeHead(410, 'Gone for good', { 'Content-Type': 'text/plain' })
        res.end('gone')
      })
      await expectOneIncident(h, app, '/old', { status: 410, kind: 'warning' })
    })

    it('should leave a 2xx and 3xx without an incident id or a report', async function () {
      const { h, app } = make()
      app.get('/ok', (_req, res) => {
        res.send('fine')
      })
      app.get('/moved', (_req, res) => {
        res.redirect('/ok')
      })
      const ok = await request(app).get('/ok').expect(200)
      const moved = await request(app).get('/moved').expect(302)
      expect(ok.headers['x-incident-id']).to.equal(undefined)
      expect(moved.headers['x-incident-id']).to.equal(undefined)
      await settle()
      expect(h.reports).to.have.length(0)
    })

    it("should keep the app's own X-Incident-Id when it set one itself", async function () {
      const { h, app } = make()
      app.use((req, res) => {
        res.set('X-Incident-Id', h.faultline.incidentId(req)).status(404).send('none')
      })
      await expectOneIncident(h, app, '/own-header', { status: 404, kind: 'warning' })
    })
  })

  describe('its own error middleware', function () {
    const shapes: Array<{
      name: string
      handler: (h: Harness) => ErrorMiddleware
      status: number
      kind: Report['kind']
      errorHandlerAfter?: boolean
      render?: boolean
    }> = [
      {
        name: 'a bare res.status(500).send()',
        handler: () => (_err, _req, res) => void res.status(500).send('something broke'),
        status: 500,
        kind: 'error',
      },
      {
        name: 'res.sendStatus(500)',
        handler: () => (_err, _req, res) => void res.sendStatus(500),
        status: 500,
        kind: 'error',
      },
      {
        name: 'res.locals.error = err, then res.status(503).json()',
        handler: () => (err, _req, res) => {
          res.locals.error = err
          res.status(503).json({ message: 'try later' })
        },
        status: 503,
        kind: 'traceback',
      },
      {
        name: 'its own page, then next(err) to faultline.errorHandler()',
        handler: () => (err, _req, res, next) => {
          res.status(500).send('our apologies')
          next(err)
        },
        status: 500,
        kind: 'traceback',
        errorHandlerAfter: true,
      },
      {
        name: 'res.render() of its own error view',
        handler: () => (_err, _req, res) => res.status(500).render('error', { message: 'oops' }),
        status: 500,
        kind: 'error',
        render: true,
      },
      {
        name: 'res.locals.error = err, then res.render()',
        handler: () => (err, _req, res) => {
          res.locals.error = err
          res.status(500).render('error', { message: 'oops' })
        },
        status: 500,
        kind: 'traceback',
        render: true,
      },
      {
        name: 'faultline.incidentId(req) on its own page',
        handler: (h) => (_err, req, res) =>
          void res.status(500).send(`incident ${h.faultline.incidentId(req)}`),
        status: 500,
        kind: 'error',
      },
    ]

    for (const shape of shapes) {
      it(`should send X-Incident-Id with the id of its one ${shape.kind} report, for ${shape.name}`, async function () {
        const { h, app } = make()
        if (shape.render) useViews(app)
        const handler = shape.handler(h)
        // four parameters: Express tells error middleware by its arity
        app.use(((err, req, res, next) => handler(err, req, res, next)) as ErrorMiddleware)
        if (shape.errorHandlerAfter) app.use(h.faultline.errorHandler())
        const { res, report } = await expectOneIncident(h, app, '/boom', shape)
        if (shape.kind === 'traceback')
          expect(report.error?.message).to.equal('the ledger is locked')
        if (res.text.startsWith('incident ')) expect(res.text).to.equal(`incident ${report.id}`)
      })
    }
  })

  describe('res.locals.error as express-generator and login forms use it', function () {
    it("should report the generator's production idiom (locals.error = {}, capture(err, req)) once, as the traceback", async function () {
      const { h, app } = make()
      useViews(app)
      app.use(((err, req, res, _next) => {
        h.faultline.capture(err, req)
        res.locals.message = (err as Error).message
        res.locals.error = req.app.get('env') === 'development' ? err : {}
        res.status(500).render('error')
      }) as ErrorMiddleware)
      app.set('env', 'production')
      const { report } = await expectOneIncident(h, app, '/boom', {
        status: 500,
        kind: 'traceback',
      })
      expect(report.error?.message).to.equal('the ledger is locked')
    })

    it('should report a 500 whose locals.error is an empty object once, as an error', async function () {
      const { h, app } = make()
      app.use(((_err, _req, res, _next) => {
        res.locals.error = {}
        res.status(500).send('broke')
      }) as ErrorMiddleware)
      await expectOneIncident(h, app, '/boom', { status: 500, kind: 'error' })
    })

    it('should not report a page whose locals.error is a message for the user (a login form)', async function () {
      const { h, app } = make()
      app.post('/login', (_req, res) => {
        res.locals.error = 'Wrong password'
        res.send('<form>Wrong password</form>')
      })
      await request(app).post('/login').expect(200)
      await settle()
      expect(h.reports).to.deep.equal([])
    })
  })

  describe('a mounted router or sub-app with error middleware of its own', function () {
    it("should stamp the router's own 500 and report it once, before the app's faultline.errorHandler()", async function () {
      const { h, app } = make()
      const api = express.Router()
      api.get('/orders', () => {
        throw new Error('orders table is gone')
      })
      api.use(((err, _req, res, _next) => {
        res.locals.error = err
        res.status(500).json({ error: 'internal' })
      }) as ErrorMiddleware)
      app.use('/api', api)
      app.use(h.faultline.notFound())
      app.use(h.faultline.errorHandler())
      const { report } = await expectOneIncident(h, app, '/api/orders', {
        status: 500,
        kind: 'traceback',
      })
      expect(report.error?.message).to.equal('orders table is gone')
    })

    it("should stamp a sub-app's own 500 when only the outer app has requestHandler()", async function () {
      const { h, app } = make()
      const admin = express()
      admin.get('/stats', () => {
        throw new Error('stats are stale')
      })
      admin.use(
        ((_err, _req, res, _next) => void res.status(500).send('admin broke')) as ErrorMiddleware,
      )
      app.use('/admin', admin)
      await expectOneIncident(h, app, '/admin/stats', { status: 500, kind: 'error' })
    })
  })

  describe('beside other middleware that wraps res.writeHead', function () {
    it('should still run a wrapper installed before requestHandler() (on-headers, as morgan does)', async function () {
      const h = createHarness()
      open.push(h)
      const app = express()
      let wrapperRan = 0
      app.use((_req, res, next) => {
        const writeHead = res.writeHead
        res.writeHead = function (this: Response, ...args: unknown[]) {
          wrapperRan++
          this.setHeader('X-Response-Time', '1ms')
          return (writeHead as (...a: unknown[]) => Response).apply(this, args)
        } as typeof res.writeHead
        next()
      })
      app.use(h.faultline.requestHandler())
      app.use((_req, res) => {
        res.status(404).send('none')
      })
      const { res } = await expectOneIncident(h, app, '/x', { status: 404, kind: 'warning' })
      expect(res.headers['x-response-time']).to.equal('1ms')
      expect(wrapperRan).to.equal(1)
    })
  })

  describe("a stack trace on the app's own page", function () {
    const showsStack =
      (kept: boolean): ErrorMiddleware =>
      (err, _req, res, _next) => {
        if (kept) res.locals.error = err
        res
          .status(500)
          .type('html')
          .send(`<h1>Error</h1><pre>${(err as Error).stack}</pre>`)
      }
    const shown = (h: Harness) => h.notices.filter((n) => n.includes('showed a stack trace'))

    it("should say once, on stderr, that the app's own page showed the stack, naming the route and incident", async function () {
      const { h, app } = make()
      app.get('/orders/:id', () => {
        throw new Error('order is locked')
      })
      app.use(showsStack(true))
      const first = await request(app).get('/orders/7?token=s3cret').expect(500)
      await onlyReportOf(h, '/orders/7?token=s3cret')
      await request(app).get('/boom').expect(500)
      await onlyReportOf(h, '/boom')
      expect(shown(h)).to.deep.equal([
        `faultline: the app's own error page for GET /orders/:id (incident ${String(first.headers['x-incident-id'])}) showed a stack trace; ` +
          "faultline's pages never do, but it cannot change a page the app renders itself: " +
          'keep err.stack off it in production (this notice is given once)\n',
      ])
    })

    it('should find the stack in a JSON body and in an HTML-escaped one', async function () {
      for (const send of [
        (err: Error, res: Response) => void res.status(500).json({ stack: err.stack }),
        (err: Error, res: Response) =>
          void res
            .status(500)
            .send(`<pre>${err.stack!.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</pre>`),
      ]) {
        const { h, app } = make()
        app.use(((err, _req, res, _next) => {
          res.locals.error = err
          send(err as Error, res)
        }) as ErrorMiddleware)
        await request(app).get('/boom').expect(500)
        await onlyReportOf(h, '/boom')
        expect(shown(h)).to.have.length(1)
      }
    })

    it('should say nothing of a page without the stack, in debug mode, or when faultline was not given the error', async function () {
      const quiet = make()
      quiet.app.use(((err, _req, res, _next) => {
        res.locals.error = err
        res.status(500).send(`Something broke: ${(err as Error).message}`)
      }) as ErrorMiddleware)
      const debug = make({ debug: true })
      debug.app.use(showsStack(true))
      const unknown = make()
      unknown.app.use(showsStack(false))
      for (const { h, app } of [quiet, debug, unknown]) {
        await request(app).get('/boom').expect(500)
        await onlyReportOf(h, '/boom')
        expect(shown(h)).to.deep.equal([])
      }
    })

    it('should survive hostile errors and paths: a throwing stack getter, a frame-less stack, control characters in the URL', async function () {
      const { h, app } = make()
      app.get('/getter', (_req, _res, next) => {
        next(
          Object.defineProperty({}, 'stack', {
            get: () => {
              throw new Error('no')
            },
          }),
        )
      })
      app.get('/frameless', (_req, _res, next) => {
        next(Object.assign(new Error('x'), { stack: 'Error: x\n'.repeat(50_000) }))
      })
      app.get('/esc/:name', () => {
        throw new Error('escaped')
      })
      app.use(((err, _req, res, _next) => {
        res.locals.error = err
        const readStack = () => {
          try {
            return String((err as Error).stack)
          } catch {
            return 'unreadable'
          }
        }
        res.status(500).send(readStack())
      }) as ErrorMiddleware)
      await request(app).get('/getter').expect(500)
      await request(app).get('/frameless').expect(500)
      await onlyReportOf(h, '/frameless')
      expect(shown(h)).to.deep.equal([])
      await request(app).get('/esc/%1B%5B2J%0Aforged').expect(500)
      await waitUntil(() => (shown(h).length ? true : undefined), 10_000, 'the notice')
      expect(shown(h)[0]).to.include('for GET /esc/:name (incident')
      expect(shown(h)[0]!.slice(0, -1)).not.to.match(/[\u0000-\u001f]/)
    })
  })
})
