import { expect } from 'chai'
import request from 'supertest'
import { RequestLifecycle } from '../../lib/middleware/lifecycle.js'
import { createApp, createHarness, waitUntil, type Harness } from '../helpers.js'

describe('hostile input', () => {
  describe('errors the error page must survive', () => {
    let h: Harness
    beforeEach(() => {
      h = createHarness()
    })
    afterEach(() => h.faultline.close())

    function appThrowing(
      make: () => unknown,
      render?: Parameters<Harness['faultline']['errorHandler']>[0],
    ) {
      const app = createApp(h.faultline)
      app.all('/x', () => {
        throw make()
      })
      app.use(h.faultline.errorHandler(render))
      return app
    }

    /** What a user checks: faultline's own page with its incident id, never Express's handler or a stack. */
    async function expectOwnPage(
      app: ReturnType<typeof appThrowing>,
      status: number,
    ): Promise<request.Response> {
      const res = await request(app).get('/x').set('Accept', 'text/html').expect(status)
      const id = res.headers['x-incident-id']
      expect(id, res.text).to.match(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
      expect(res.text).to.contain(id)
      expect(res.text).to.not.match(/\n\s+at /)
      const [report] = await h.waitForReports(1)
      expect(report!.id).to.equal(id)
      return res
    }

    const badValues: Array<[string, unknown]> = [
      ['past Latin-1', 'caf\u00e9 \u2615'],
      ['a control character', 'a\u0001b'],
      ['DEL', 'a\u007fb'],
      ['a NUL', 'a\u0000b'],
      ['CR LF', 'a\r\nSet-Cookie: owned=1'],
      ['a huge value', 'a'.repeat(100_000)],
      ['an object', { toString: () => 'x' }],
      ['a symbol', Symbol('s')],
      ['a bigint', 10n],
      ['an array with a bad member only', ['b\u0002']],
      ['null', null],
    ]
    for (const [what, value] of badValues) {
      it(`should leave out an err.headers value holding ${what} and still send the page with the good headers`, async () => {
        const app = appThrowing(() =>
          Object.assign(new Error('slow down'), {
            status: 429,
            headers: { 'Retry-After': '30', 'X-Bad': value, 'X-Mixed': ['ok', 'b\u2615'] },
          }),
        )
        const res = await expectOwnPage(app, 429)
        expect(res.headers['retry-after']).to.equal('30')
        expect(res.headers['x-bad']).to.equal(undefined)
        expect(res.headers['x-mixed']).to.equal('ok')
        expect(res.headers['set-cookie']).to.equal(undefined)
      })
    }

    it("should leave out headers with invalid names, and those that would undo the page's own protections", async () => {
      const headers = {
        'Bad Name': 'x',
        'X:Y': 'x',
        '': 'x',
        'caf\u00e9': 'x',
        'Content-Security-Policy': 'default-src *',
        'X-Incident-Id': 'FAKE-FAKE-FAKE',
        'Retry-After': '30',
      }
      const res = await expectOwnPage(
        appThrowing(() => Object.assign(new Error('x'), { status: 503, headers })),
        503,
      )
      expect(res.headers['retry-after']).to.equal('30')
      expect(res.headers['content-security-policy']).to.match(/^default-src 'none'/)
    })

    it('should survive getters that throw on the error and on its headers', async () => {
      const err = new Error('x')
      Object.defineProperty(err, 'status', { get: () => 418 })
      Object.defineProperty(err, 'expose', {
        get: () => {
          throw new Error('expose getter')
        },
      })
      Object.defineProperty(err, 'headers', {
        get: () => ({
          get 'X-A'() {
            throw new Error('header getter')
          },
          'Retry-After': '5',
        }),
      })
      const res = await expectOwnPage(
        appThrowing(() => err),
        418,
      )
      expect(res.headers['retry-after']).to.equal('5')
    })

    it('should survive an error whose every property throws, and a revoked Proxy', async () => {
      const throwing = new Proxy(new Error('x'), {
        get() {
          throw new Error('trap')
        },
        ownKeys() {
          throw new Error('trap')
        },
        getPrototypeOf() {
          throw new Error('trap')
        },
        has() {
          throw new Error('trap')
        },
      })
      await expectOwnPage(
        appThrowing(() => throwing),
        500,
      )
      h.reports.length = 0
      const { proxy, revoke } = Proxy.revocable(new Error('y'), {})
      revoke()
      await expectOwnPage(
        appThrowing(() => proxy),
        500,
      )
    })

    it("should still answer with an incident id, never Express's handler, when recording the error itself fails", async () => {
      // the last line of defence: whatever breaks inside the handler, the page and a report still go out
      const record = RequestLifecycle.prototype.record
      RequestLifecycle.prototype.record = () => {
        throw new Error('record failed')
      }
      let res: request.Response
      try {
        res = await request(appThrowing(() => new Error('x')))
          .get('/x')
          .set('Accept', 'text/html')
          .expect(500)
      } finally {
        RequestLifecycle.prototype.record = record
      }
      const report = await waitUntil(
        () => h.reports.find((r) => r.message.includes('record failed')),
        10_000,
        "the failure's report",
      )
      expect(res.headers['x-incident-id']).to.equal(report.id)
      expect(res.text).to.contain(report.id)
    })

    it("should send faultline's page when render throws, rejects, or returns a thenable that throws", async () => {
      const renders = [
        () => {
          throw new Error('render broke')
        },
        () => Promise.reject(new Error('render rejected')),
        () =>
          ({
            get then() {
              throw new Error('then getter')
            },
          }) as unknown as string,
        () => {
          const { proxy, revoke } = Proxy.revocable({}, {})
          revoke()
          throw proxy
        },
      ]
      for (const render of renders) {
        h.reports.length = 0
        await expectOwnPage(
          appThrowing(
            () => Object.assign(new Error('x'), { status: 400, headers: { 'X-Bad': 'a\u0001' } }),
            { render },
          ),
          400,
        )
      }
    })
  })
})
