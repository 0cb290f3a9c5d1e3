import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { createHarness, settle, sleep, type Harness } from './helpers.js'
import { EXPRESS_MAJOR } from './support/express-major.js'
import { express4 } from './support/express4.js'
import {
  layerPrototypeOf,
  loadSecondCopy,
  patchLikeExpressAsyncErrors,
  unhandledDuring,
} from './support/express-layers.js'

// Express 4 always (what needs this), and the Express of this run when it is the other one
const versions: Array<[string, typeof express, string]> = [['Express 4', express4, 'express4']]
if (EXPRESS_MAJOR === 5) versions.push(['Express 5', express, 'express'])

type ErrorMiddleware = express.ErrorRequestHandler

async function rejectLater(message: string): Promise<never> {
  await sleep(2)
  throw new Error(message)
}

for (const [version, makeApp, packageName] of versions) {
  describe(`promises returned to ${version}`, () => {
    let h: Harness
    let seenByApp: unknown[]
    beforeEach(() => {
      h = createHarness()
      seenByApp = []
    })
    afterEach(() => h.faultline.close())

    /** The app's own error middleware: notes what reached it through `next`, then hands it to faultline. */
    const appErrors: ErrorMiddleware = (err, _req, _res, next) => {
      seenByApp.push(err)
      next(err)
    }

    function appWith(routes: (app: express.Express) => void): express.Express {
      const app = makeApp()
      app.use(h.faultline.requestHandler())
      routes(app)
      app.use(appErrors)
      app.use(h.faultline.errorHandler())
      return app
    }

    async function expectOneExactReport(path: string, message: string): Promise<void> {
      const [report] = await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(report).to.include({ kind: 'traceback', status: 500, attribution: 'exact' })
      expect(report!.error?.message).to.equal(message)
      expect(report!.request?.url).to.equal(path)
      expect(seenByApp.map((err) => (err as Error).message)).to.deep.equal([message])
    }

    it("should hand an async handler's rejection to the app's error middleware, and report it once, exact", async () => {
      const app = appWith((a) => a.get('/x', () => rejectLater('handler rejected')))
      await request(app).get('/x').timeout(5000).expect(500)
      await expectOneExactReport('/x', 'handler rejected')
    })

    it("should hand an async middleware's rejection on the same way", async () => {
      const app = appWith((a) => {
        a.use(async (_req, _res, next) => {
          await rejectLater('middleware rejected')
          next()
        })
        a.get('/x', (_req, res) => res.send('not reached'))
      })
      await request(app).get('/x').timeout(5000).expect(500)
      await expectOneExactReport('/x', 'middleware rejected')
    })

    it("should let a router mounted under a path answer its handlers' rejections with its own error middleware", async () => {
      const api = makeApp.Router()
      api.get('/orders', () => rejectLater('no orders'))
      api.use(((err: Error, _req, res, _next) => {
        seenByApp.push(err)
        res.status(500).json({ error: 'the api says no' })
      }) as ErrorMiddleware)
      const app = appWith((a) => a.use('/api', api))
      const res = await request(app).get('/api/orders').timeout(5000).expect(500)
      expect(res.body).to.deep.equal({ error: 'the api says no' })
      const [report] = await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(report).to.include({ status: 500, attribution: 'exact' })
      expect(report!.request?.url).to.equal('/api/orders')
      expect(seenByApp.map((err) => (err as Error).message)).to.deep.equal(['no orders'])
    })

    it('should hand on the rejection of a route added after the first request', async () => {
      const late = makeApp.Router()
      const app = appWith((a) => {
        a.get('/ok', (_req, res) => res.send('ok'))
        a.use(late)
      })
      await request(app).get('/ok').timeout(5000).expect(200)
      late.get('/late', () => rejectLater('late route rejected'))
      await request(app).get('/late').timeout(5000).expect(500)
      await expectOneExactReport('/late', 'late route rejected')
    })

    it("should hand on the rejection in a sub-app made with the same Express, through the sub-app's error middleware", async () => {
      const admin = makeApp()
      admin.get('/report', () => rejectLater('admin report failed'))
      admin.use(appErrors)
      const app = appWith((a) => a.use('/admin', admin))
      await request(app).get('/admin/report').timeout(5000).expect(500)
      const [report] = await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(report).to.include({ status: 500, attribution: 'exact' })
      // the sub-app's error middleware, then the app's, both through next
      expect(seenByApp.map((err) => (err as Error).message)).to.deep.equal([
        'admin report failed',
        'admin report failed',
      ])
    })

    it('should hand on the rejection in a sub-app made with another copy of Express that has its own requestHandler()', async () => {
      const other = loadSecondCopy(packageName)
      expect(other).not.to.equal(makeApp)
      // Express 5's Layer class is the `router` package's, which both copies share
      if (version === 'Express 4')
        expect(layerPrototypeOf(other)).not.to.equal(layerPrototypeOf(makeApp))
      const inner = createHarness()
      try {
        const admin = other()
        admin.use(inner.faultline.requestHandler())
        admin.get('/report', () => rejectLater('admin report failed'))
        admin.use(appErrors)
        admin.use(inner.faultline.errorHandler())
        const app = appWith((a) => a.use('/admin', admin))
        await request(app).get('/admin/report').timeout(5000).expect(500)
        const [report] = await h.waitForReports(1)
        await settle()
        // as with a synchronous error: the sub-app's faultline hands it on, the app's reports it
        expect(h.reports).to.have.length(1)
        expect(inner.reports).to.have.length(0)
        expect(report).to.include({ status: 500, attribution: 'exact' })
      } finally {
        await inner.faultline.close()
      }
    })

    it('should hand on the rejection of an async error middleware', async () => {
      const app = makeApp()
      app.use(h.faultline.requestHandler())
      app.get('/x', () => {
        throw new Error('first')
      })
      app.use((async (err: Error, _req, _res, _next) => {
        seenByApp.push(err)
        await rejectLater('error middleware rejected')
      }) as ErrorMiddleware)
      app.use(h.faultline.errorHandler())
      await request(app).get('/x').timeout(5000).expect(500)
      await h.waitForReports(1)
      await settle()
      // as on Express 5: the error that reached faultline is the one the app's error middleware raised
      expect(h.reports.map((r) => [r.error?.message, r.attribution])).to.deep.equal([
        ['error middleware rejected', 'exact'],
      ])
      expect(seenByApp.map((err) => (err as Error).message)).to.deep.equal(['first'])
    })

    for (const [what, reason] of [
      ['undefined', undefined],
      ['null', null],
      ['a string', 'just a string'],
      ['an object whose every getter throws', hostileReason()],
    ] as const) {
      it(`should answer one 500 for a rejection with ${what}`, async () => {
        const app = appWith((a) => a.get('/x', () => Promise.reject(reason)))
        const unhandled = await unhandledDuring(async () => {
          await request(app).get('/x').timeout(5000).expect(500)
          await h.waitForReports(1)
          await settle()
        })
        expect(h.reports).to.have.length(1)
        expect(h.reports[0]).to.include({ status: 500, attribution: 'exact' })
        expect(seenByApp).to.have.length(1)
        // handed on, so the app's own unhandledRejection listener is not bothered with it
        expect(unhandled).to.have.length(0)
      })
    }

    // on Express 5 the router hands every returned rejection on itself, so such a patch doubles it there (and
    // express-async-errors does not load on Express 5): the page rendered later is asked of Express 4 only
    const renderings = version === 'Express 4' ? ['at once', 'after an async render'] : ['at once']
    for (const rendering of renderings) {
      it(`should answer once and report once when express-async-errors-style patching hands the rejection on too (page rendered ${rendering})`, async () => {
        const unpatch = patchLikeExpressAsyncErrors(makeApp)
        try {
          let answers = 0
          const app = makeApp()
          // Express 5 itself hands the rejection on a second time, to its final handler, which prints it outside 'test'
          app.set('env', 'test')
          app.use(h.faultline.requestHandler())
          app.get('/x', () => rejectLater('handed on twice?'))
          app.use(appErrors)
          app.use(((_err, _req, res, _next) => {
            const answer = () => res.status(500).send(`answer ${++answers}`)
            if (rendering === 'at once') answer()
            else setTimeout(answer, 20)
          }) as ErrorMiddleware)
          const res = await request(app).get('/x').timeout(5000).expect(500)
          expect(res.text).to.equal('answer 1')
          await h.waitForReports(1)
          await settle()
          expect(answers).to.equal(1)
          expect(h.reports).to.have.length(1)
          expect(h.reports[0]).to.include({ status: 500, attribution: 'exact' })
          expect(seenByApp.map((err) => (err as Error).message)).to.deep.equal(['handed on twice?'])
        } finally {
          unpatch()
        }
      })
    }

    it('should leave a floated promise, one not returned, tied by the async context', async () => {
      const app = appWith((a) =>
        a.get('/x', () => {
          void rejectLater('floated')
        }),
      )
      await request(app).get('/x').timeout(5000).expect(500)
      const [report] = await h.waitForReports(1)
      await settle()
      expect(h.reports).to.have.length(1)
      expect(report).to.include({ status: 500, attribution: 'async-context' })
    })
  })
}

function hostileReason(): object {
  return new Proxy(
    {},
    {
      get() {
        throw new Error('no reading me')
      },
      getPrototypeOf() {
        throw new Error('no prototype either')
      },
    },
  )
}

describe('promises returned to Express 4 by an app without faultline', () => {
  it("should leave another app's handlers as Express 4 runs them", async () => {
    const h = createHarness()
    try {
      const withFaultline = express4()
      withFaultline.use(h.faultline.requestHandler())
      withFaultline.get('/x', (_req, res) => res.send('patched now'))
      await request(withFaultline).get('/x').timeout(5000).expect(200)

      const plain = express4()
      let reachedNext = false
      plain.get('/x', (_req, res) => {
        setTimeout(() => res.status(202).send('answered by the handler'), 20)
        return Promise.reject(new Error('ignored by Express 4'))
      })
      plain.use(((_err, _req, res, _next) => {
        reachedNext = true
        res.status(500).send('error middleware')
      }) as ErrorMiddleware)
      const rejections = await unhandledDuring(async () => {
        await request(plain).get('/x').timeout(5000).expect(202)
      })
      expect(reachedNext).to.equal(false)
      expect(rejections.map((r) => (r as Error).message)).to.deep.equal(['ignored by Express 4'])
    } finally {
      await h.faultline.close()
    }
  })
})
