import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Request } from 'express'
import request from 'supertest'
import { countItems } from './fixtures/debug-app/orders.js'
import { createApp, createHarness, settle, type Harness } from './helpers.js'

const ORDERS_TS = join(import.meta.dirname, 'fixtures', 'debug-app', 'orders.ts')
const THROW_LINE =
  readFileSync(ORDERS_TS, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('order!.lines')) + 1

function orderApp(h: Harness, render?: Parameters<Harness['faultline']['errorHandler']>[0]) {
  const app = createApp(h.faultline)
  app.get('/orders/:id', (req) => {
    try {
      countItems(undefined)
    } catch (cause) {
      throw new Error(`cannot show order ${req.params.id} <script>alert(1)</script>`, { cause })
    }
  })
  app.use(h.faultline.errorHandler(render))
  return app
}

describe('error pages', () => {
  let h: Harness
  afterEach(() => h.faultline.close())

  describe('in debug mode', () => {
    beforeEach(() => {
      h = createHarness({ debug: true })
    })

    it("should show the exception, its cause, and the TypeScript source of the app's frames", async () => {
      const res = await request(orderApp(h))
        .get('/orders/7?note=<img src=x onerror=alert(2)>')
        .set('Accept', 'text/html')
        .set('Cookie', 'sid=s3cret-cookie-value')
        .expect(500)
      const [report] = await h.waitForReports(1)
      expect(res.text).to.contain('cannot show order 7 &#60;script&#62;alert(1)&#60;/script&#62;')
      expect(res.text).to.contain(
        'Caused by: TypeError: Cannot read properties of undefined (reading &#39;lines&#39;)',
      )
      // the frame points at the .ts line, and the line shown is the .ts source
      expect(res.text).to.contain(`${ORDERS_TS}:${THROW_LINE}:`)
      expect(res.text).to.match(
        /<span class="current">\s*\d+ {2}\s*const lines = order!\.lines<\/span>/,
      )
      expect(res.text).to.contain('<span class="badge app">app</span>')
      expect(res.text).to.contain('<span class="badge dependency">dependency</span>')
      expect(res.text).to.contain(report!.id)
      expect(res.headers['x-incident-id']).to.equal(report!.id)
      expect(res.text).not.to.contain('<script>')
      expect(res.text).not.to.contain('<img')
      expect(res.text).not.to.contain('s3cret-cookie-value')
      expect(res.headers['content-security-policy']).to.match(
        /^default-src 'none'; style-src 'sha256-/,
      )
    })

    it('should answer JSON clients with the report and its frames', async () => {
      const res = await request(orderApp(h))
        .get('/orders/7')
        .set('Accept', 'application/json')
        .expect(500)
      const [report] = await h.waitForReports(1)
      expect(res.body.error).to.deep.equal({
        status: 500,
        message: report!.message,
        incident: report!.id,
      })
      expect(res.body.debug.report.error.cause.name).to.equal('TypeError')
      const frame = res.body.debug.frames.find((f: { origin: string }) => f.origin === 'app')
      expect(frame.file).to.match(/pages\.test\.ts$/)
    })

    it('should answer plain text with the stack and its causes', async () => {
      const res = await request(orderApp(h))
        .get('/orders/7')
        .set('Accept', 'text/plain')
        .expect(500)
      expect(res.text).to.match(
        /^500 Internal Server Error\nIncident: [0-9A-Z-]{14}\ntraceback: Error: cannot show order 7/,
      )
      expect(res.text).to.contain(
        `Caused by: TypeError: Cannot read properties of undefined (reading 'lines')\n    at countItems (${ORDERS_TS}:${THROW_LINE}:`,
      )
    })

    it('should send headers only for HEAD', async () => {
      const res = await request(orderApp(h)).head('/orders/7').expect(500)
      expect(res.text ?? '').to.equal('')
      expect(res.headers['x-incident-id']).to.be.a('string')
    })
  })

  describe('in production', () => {
    beforeEach(() => {
      h = createHarness({ debug: false })
    })

    it('should show nothing from the exception in any form, and the incident id of the report', async () => {
      const app = orderApp(h)
      const ids: string[] = []
      for (const accept of ['text/html', 'application/json', 'text/plain']) {
        const res = await request(app).get('/orders/7').set('Accept', accept).expect(500)
        for (const leak of ['cannot show order', 'countItems', 'orders.ts', 'TypeError', 'lines'])
          expect(res.text, `${accept}: ${leak}`).not.to.contain(leak)
        expect(res.text).to.contain(res.headers['x-incident-id'])
        ids.push(String(res.headers['x-incident-id']))
      }
      const reports = await h.waitForReports(3)
      expect(reports.map((r) => r.id)).to.deep.equal(ids)
    })
  })

  describe('render', () => {
    beforeEach(() => {
      h = createHarness()
    })

    it("should send the app's own page and keep reporting", async () => {
      const res = await request(
        orderApp(h, {
          render: (ctx) =>
            ctx.type === 'html'
              ? `<h1>Oops</h1><p>Quote ${ctx.incidentId} (${ctx.status} ${ctx.reason})</p>`
              : undefined,
        }),
      )
        .get('/orders/1')
        .set('Accept', 'text/html')
        .expect(500)
      const [report] = await h.waitForReports(1)
      expect(res.text).to.equal(
        `<h1>Oops</h1><p>Quote ${report!.id} (500 Internal Server Error)</p>`,
      )
      expect(res.headers['content-security-policy']).to.contain("script-src 'none'")
      expect(res.headers['x-content-type-options']).to.equal('nosniff')
    })

    it('should fall back to its own page for the forms the renderer leaves', async () => {
      const res = await request(
        orderApp(h, { render: (ctx) => (ctx.type === 'html' ? '<h1>Oops</h1>' : undefined) }),
      )
        .get('/orders/1')
        .set('Accept', 'application/json')
        .expect(500)
      expect(res.body.error.status).to.equal(500)
    })

    it('should take an async renderer', async () => {
      const res = await request(
        orderApp(h, { render: async (ctx) => `<p>later ${ctx.incidentId}</p>` }),
      )
        .get('/orders/1')
        .set('Accept', 'text/html')
        .expect(500)
      expect(res.text).to.match(/^<p>later [0-9A-Z-]{14}<\/p>$/)
    })

    for (const [how, render] of [
      [
        'throws',
        () => {
          throw new Error('template missing')
        },
      ],
      [
        'rejects',
        async () => {
          throw new Error('template missing')
        },
      ],
    ] as const) {
      it(`should send faultline's page and report both errors when the renderer ${how}`, async () => {
        const res = await request(orderApp(h, { render }))
          .get('/orders/1')
          .set('Accept', 'text/html')
          .expect(500)
        expect(res.text).to.contain('<h1>500 Internal Server Error</h1>')
        await h.waitForReports(2)
        await settle()
        expect(h.reports.map((r) => r.message).sort()).to.deep.equal([
          'Error: cannot show order 1 <script>alert(1)</script>',
          'Error: template missing',
        ])
        expect(res.headers['x-incident-id']).to.equal(
          h.reports.find((r) => r.message.includes('cannot show'))!.id,
        )
      })
    }

    it('should hand the renderer the request and the error, and the report only in debug mode', async () => {
      const seen: Array<{ req: Request; error: unknown; hasReport: boolean }> = []
      const render = (ctx: { req: Request; error: unknown; report?: unknown }) => {
        seen.push({ req: ctx.req, error: ctx.error, hasReport: ctx.report !== undefined })
        return undefined
      }
      await request(orderApp(h, { render })).get('/orders/1')
      const d = createHarness({ debug: true })
      try {
        await request(orderApp(d, { render })).get('/orders/2')
      } finally {
        await d.faultline.close()
      }
      expect(seen.map((s) => s.hasReport)).to.deep.equal([false, true])
      expect(seen[0]!.req.originalUrl).to.equal('/orders/1')
      expect(seen[0]!.error).to.be.instanceOf(Error)
    })
  })
})
