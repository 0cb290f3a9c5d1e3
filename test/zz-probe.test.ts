import request from 'supertest'
import { createApp, createHarness, settle } from './helpers.js'
describe('probe', function () {
  it('prints fingerprints', async function () {
    const h = createHarness({})
    const app = createApp(h.faultline)
    app.get('/orders/:id', (_req, res) => { res.status(404).end() })
    app.use(h.faultline.notFound())
    app.use(h.faultline.errorHandler())
    for (const p of ['/a8f3k.php', '/xyz123', '/foo?x=1', '/foo?x=2', '/foo', '/wp-admin/setup.php', '/.env', '/.git/config', '/orders/5?x=1', '/orders/6', '/abc/def', '/abc/ghi','/%2e%2e/etc/passwd'])
      await request(app).get(p)
    await settle()
    for (const r of h.reports) console.log(r.fingerprint, r.kind, r.status, r.request?.url, r.request?.route, r.message, r.suspicious)
    await h.faultline.close()
  })
})
