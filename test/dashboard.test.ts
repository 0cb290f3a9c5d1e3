import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { createFaultline, FaultlineConfigError, type Faultline } from '../lib/index.js'
import { captureStderr, settle, sleep } from './helpers.js'
import { createDashboard } from '../lib/dashboard/index.js'
import { getState } from '../lib/middleware/request-state.js'
import type { IncidentStore } from '../lib/store/types.js'
import { LocalIncidentStore } from '../lib/store/local-incidents.js'
import { makeReport } from './support/incident-store-suite.js'
import {
  HOSTILE,
  MOUNT,
  cookieOf,
  csrfOf,
  OPS_COOKIE,
  startDashboardSite,
  type DashboardSite,
} from './fixtures/dashboard-app.js'

/** Waits until the store counted `count` reports in all (they are counted when each response closes). */
async function waitForCount(faultline: Faultline, count: number): Promise<void> {
  const deadline = Date.now() + 3000
  for (;;) {
    const { issues } = await faultline.issues({ limit: 500 })
    if (issues.reduce((sum, issue) => sum + issue.count, 0) >= count) return
    if (Date.now() > deadline) throw new Error(`the store never counted ${count} reports`)
    await sleep(10)
  }
}

/** Each listed row's fingerprint and count, read off the list page's HTML. */
function listedRows(html: string): Array<{ fingerprint: string; count: number }> {
  return [
    ...html.matchAll(/<tr data-fingerprint="([^"]+)">[\s\S]*?<td class="num count">(\d+)<\/td>/g),
  ].map((m) => ({ fingerprint: m[1]!, count: Number(m[2]) }))
}

describe('incident view (faultline.dashboard)', function () {
  let site: DashboardSite

  beforeEach(async function () {
    site = await startDashboardSite()
  })

  afterEach(async function () {
    await site.close()
  })

  const ops = (path: string) => request(site.url).get(path).set('Cookie', OPS_COOKIE)

  it('should throw a FaultlineConfigError naming authorize when it is missing or not a function', async function () {
    const faultline = createFaultline({ env: false, stderr: false })
    try {
      for (const bad of [undefined, {}, { authorize: true }]) {
        let thrown: unknown
        try {
          faultline.dashboard(bad as never)
        } catch (err) {
          thrown = err
        }
        expect(thrown).to.be.instanceOf(FaultlineConfigError)
        expect((thrown as FaultlineConfigError).field).to.equal('authorize')
        expect((thrown as Error).message).to.include('authorize')
      }
    } finally {
      await faultline.close()
    }
  })

  it('should answer a refused request with a plain 404 that reveals nothing', async function () {
    await request(site.url).get('/orders/1')
    await waitForCount(site.faultline, 1)
    const [issue] = (await site.faultline.issues()).issues
    for (const path of [
      '',
      '/',
      '/api/issues',
      `/issues/${issue!.fingerprint}`,
      '/incidents?id=x',
    ]) {
      const res = await request(site.url).get(`${MOUNT}${path}`)
      expect(res.status, path).to.equal(404)
      expect(res.headers['content-type']).to.match(/^text\/plain/)
      expect(res.text).to.equal('Not Found\n')
      expect(res.headers['set-cookie']).to.equal(undefined)
    }
    const post = await request(site.url)
      .post(`${MOUNT}/issues/${issue!.fingerprint}`)
      .type('form')
      .send({ action: 'resolve' })
    expect(post.status).to.equal(404)
    expect((await site.faultline.issue(issue!.fingerprint))!.status).to.equal('open')
  })

  it('should refuse with a plain 403 when authorize throws or rejects', async function () {
    await site.close()
    for (const authorize of [
      () => {
        throw new Error('no session store')
      },
      () => Promise.reject(new Error('no session store')),
    ]) {
      site = await startDashboardSite(authorize)
      const res = await ops(`${MOUNT}/`)
      expect(res.status).to.equal(403)
      expect(res.text).to.equal('Forbidden\n')
      await site.close()
    }
    site = await startDashboardSite()
  })

  it('should list each distinct error once, with its count and both sparklines', async function () {
    for (let i = 0; i < 3; i++) await request(site.url).get(`/orders/${i}`)
    await request(site.url).get('/errors/alpha')
    await request(site.url).get('/errors/bravo')
    await request(site.url).get('/errors/bravo')
    await waitForCount(site.faultline, 6)
    const res = await ops(`${MOUNT}/`)
    expect(res.status).to.equal(200)
    expect(res.headers['content-type']).to.match(/^text\/html/)
    const rows = listedRows(res.text)
    expect(rows.map((r) => r.count).sort()).to.deep.equal([1, 2, 3])
    expect(new Set(rows.map((r) => r.fingerprint)).size).to.equal(3)
    expect(res.text).to.include('TypeError: order 0 has no line items')
    expect(res.text.match(/<svg class="spark h24"/g)).to.have.length(3)
    expect(res.text.match(/<svg class="spark d14"/g)).to.have.length(3)
  })

  it('should filter by kind and sort by count', async function () {
    await request(site.url).get('/errors/alpha')
    for (let i = 0; i < 2; i++) await request(site.url).get('/errors/bravo')
    await request(site.url).get('/no-such-page')
    await waitForCount(site.faultline, 4)
    const warnings = await ops(`${MOUNT}/?kind=warning`)
    expect(listedRows(warnings.text)).to.have.length(1)
    // a path no route matched is one issue for any path a client asks for
    expect(warnings.text).to.include('404 Not Found — GET &#60;unmatched path&#62;')
    const byCount = listedRows((await ops(`${MOUNT}/?sort=count&kind=traceback`)).text)
    expect(byCount.map((r) => r.count)).to.deep.equal([2, 1])
  })

  it('should link to each page relatively, so links work with and without the trailing slash', async function () {
    await request(site.url).get('/orders/7')
    await waitForCount(site.faultline, 1)
    for (const path of [MOUNT, `${MOUNT}/`]) {
      const list = await ops(path)
      expect(list.status, path).to.equal(200)
      const href = /<td class="title"><a href="([^"]+)"/.exec(list.text)![1]!
      expect(href).to.not.match(/^\//)
      const target = new URL(href.replace(/&#38;/g, '&'), `${site.url}${path}`)
      const issue = await ops(target.pathname)
      expect(issue.status, target.pathname).to.equal(200)
      expect(issue.text).to.include('TypeError: order 7 has no line items')
      // and back from the issue page to the list
      const back = /<a href="([^"]+)">← all errors/.exec(issue.text)![1]!
      expect(new URL(back, target).pathname).to.equal(`${MOUNT}/`)
    }
  })

  it('should find an incident typed in lower case, without dashes, and show its error', async function () {
    const res = await request(site.url).get('/orders/5')
    const id = res.headers['x-incident-id'] as string
    await waitForCount(site.faultline, 1)
    const typed = id.replace(/-/g, '').toLowerCase()
    const page = await ops(`${MOUNT}/incidents?id=${encodeURIComponent(` ${typed} `)}`)
    expect(page.status).to.equal(200)
    expect(page.text).to.include(id)
    expect(page.text).to.include('/orders/5')
    expect(page.text).to.include('TypeError')
    expect(page.text).to.include('order 5 has no line items')
    const missing = await ops(`${MOUNT}/incidents?id=0000-0000-0000`)
    expect(missing.status).to.equal(404)
  })

  it("should show the error's cause chain, its stack with the app's frames marked, and the scrubbed request", async function () {
    await request(site.url)
      .get('/invoices/12?token=abc')
      .set('Authorization', 'Bearer very-secret-token-123')
    await waitForCount(site.faultline, 1)
    const [issue] = (await site.faultline.issues()).issues
    const page = await ops(`${MOUNT}/issues/${issue!.fingerprint}`)
    expect(page.text).to.include('<strong>TypeError</strong>: invoice 12 has no lines')
    expect(page.text).to.match(/caused by<\/p><p><strong>Error<\/strong>: connect ECONNREFUSED/)
    expect(page.text).to.include('<dt>code</dt><dd>ECONNREFUSED</dd>')
    expect(page.text).to.match(
      /<li class="app" data-origin="app">[^<]*<span[^>]*>app<\/span>[^<]*<span>[^<]*dashboard-app\.ts:\d+:\d+<\/span>/,
    )
    expect(page.text).to.match(/<li class="other" data-origin="(dependency|node)">/)
    expect(page.text).to.include('<h2>Request</h2>')
    expect(page.text).to.not.include('very-secret-token-123')
    expect(page.text).to.include('<h2>Recent occurrences</h2>')
  })

  it('should answer the JSON API under the same authorize', async function () {
    const res = await request(site.url).get('/orders/9')
    const id = res.headers['x-incident-id'] as string
    await waitForCount(site.faultline, 1)
    const list = await ops(`${MOUNT}/api/issues?kind=traceback`)
    expect(list.status).to.equal(200)
    expect(list.headers['content-type']).to.match(/^application\/json/)
    expect(list.body.total).to.equal(1)
    expect(list.body.issues[0]).to.include({ kind: 'traceback', count: 1, status: 'open' })
    const incident = await ops(`${MOUNT}/api/incidents/${id.toLowerCase()}`)
    expect(incident.status).to.equal(200)
    expect(incident.body.incident).to.include({ id, url: '/orders/9', status: 500, method: 'GET' })
    expect(incident.body.issue.report.error.name).to.equal('TypeError')
    expect((await ops(`${MOUNT}/api/incidents/nonsense`)).status).to.equal(404)
    expect((await request(site.url).get(`${MOUNT}/api/incidents/${id}`)).status).to.equal(404)
  })

  it('should resolve with a CSRF-protected form, and mark the error regressed when it happens again', async function () {
    await request(site.url).get('/orders/1')
    await waitForCount(site.faultline, 1)
    const [issue] = (await site.faultline.issues()).issues
    const path = `${MOUNT}/issues/${issue!.fingerprint}`
    const page = await ops(path)
    const cookie = cookieOf(page)
    const csrf = csrfOf(page.text)
    const post = (fields: Record<string, string>, cookies: string, headers = {}) =>
      request(site.url).post(path).set('Cookie', cookies).set(headers).type('form').send(fields)

    expect((await post({ action: 'resolve' }, `${OPS_COOKIE}; ${cookie}`)).status).to.equal(403)
    expect((await post({ action: 'resolve', csrf }, OPS_COOKIE)).status).to.equal(403)
    expect(
      (await post({ action: 'resolve', csrf }, `${OPS_COOKIE}; faultline_csrf=${'A'.repeat(32)}`))
        .status,
    ).to.equal(403)
    const crossSite = await post({ action: 'resolve', csrf }, `${OPS_COOKIE}; ${cookie}`, {
      'Sec-Fetch-Site': 'cross-site',
    })
    expect(crossSite.status).to.equal(403)
    expect((await site.faultline.issue(issue!.fingerprint))!.status).to.equal('open')

    const done = await post({ action: 'resolve', csrf }, `${OPS_COOKIE}; ${cookie}`)
    expect(done.status).to.equal(303)
    expect(new URL(done.headers.location as string, `${site.url}${path}`).pathname).to.equal(path)
    expect((await site.faultline.issue(issue!.fingerprint))!.status).to.equal('resolved')

    await request(site.url).get('/orders/2')
    await waitForCount(site.faultline, 2)
    const again = await ops(path)
    expect(again.text).to.include('status-regressed')
    expect((await ops(`${MOUNT}/?status=regressed`)).text).to.include(issue!.fingerprint)
  })

  it('should mute for a day and unmute', async function () {
    await request(site.url).get('/orders/1')
    await waitForCount(site.faultline, 1)
    const [issue] = (await site.faultline.issues()).issues
    const path = `${MOUNT}/issues/${issue!.fingerprint}`
    const page = await ops(path)
    const cookies = `${OPS_COOKIE}; ${cookieOf(page)}`
    const send = (action: string) =>
      request(site.url)
        .post(path)
        .set('Cookie', cookies)
        .type('form')
        .send({ action, csrf: csrfOf(page.text) })
    expect((await send('mute-day')).status).to.equal(303)
    const muted = await site.faultline.issues({ status: 'muted' })
    expect(muted.issues.map((i) => i.fingerprint)).to.deep.equal([issue!.fingerprint])
    const until = Date.parse(muted.issues[0]!.mutedUntil!)
    expect(until - Date.now()).to.be.within(23 * 3_600_000, 24 * 3_600_000 + 1000)
    expect((await ops(`${MOUNT}/?status=muted`)).text).to.include(issue!.fingerprint)
    expect((await send('unmute')).status).to.equal(303)
    expect((await site.faultline.issues({ status: 'muted' })).total).to.equal(0)
    expect((await send('explode')).status).to.equal(400)
  })

  it('should render hostile messages, URLs and User-Agents as text under a CSP without script', async function () {
    const res = await request(site.url).get(HOSTILE.path).set('User-Agent', HOSTILE.userAgent)
    const id = res.headers['x-incident-id'] as string
    await waitForCount(site.faultline, 1)
    const [issue] = (await site.faultline.issues()).issues
    const pages = [
      await ops(`${MOUNT}/`),
      await ops(`${MOUNT}/issues/${issue!.fingerprint}`),
      await ops(`${MOUNT}/incidents/${id}`),
    ]
    for (const page of pages) {
      expect(page.status).to.equal(200)
      expect(page.text).to.not.include('<script')
      expect(page.text).to.not.match(/<img|<svg onload/i)
      expect(page.text).to.include('&#60;script&#62;window.__pwned=1&#60;/script&#62;')
      const csp = page.headers['content-security-policy'] as string
      expect(csp).to.match(/^default-src 'none'; style-src 'sha256-[^']+';/)
      expect(csp).to.not.include('script-src')
      expect(page.headers['x-content-type-options']).to.equal('nosniff')
    }
    expect(pages[1]!.text).to.include('&#60;svg onload=&#34;window.__pwned=5&#34;&#62;')
  })

  it("should never report the view's own pages, nor its answers of no such error or incident", async function () {
    await request(site.url).get('/orders/1')
    await waitForCount(site.faultline, 1)
    const before = site.reports.length
    await ops(`${MOUNT}/`)
    await ops(`${MOUNT}/api/issues`)
    await ops(`${MOUNT}/issues/unknown`)
    await ops(`${MOUNT}/incidents?id=nope`)
    await ops(`${MOUNT}/api/incidents/nope`)
    await settle()
    expect(site.reports.slice(before).map((r) => r.request?.url)).to.deep.equal([])
    expect(site.asked.count).to.be.greaterThan(0)
  })

  it('should page the list of a store holding 10 000 distinct errors, 50 rows at a time', async function () {
    const store = new LocalIncidentStore({ maxFingerprints: { traceback: 10_000 } })
    for (let i = 0; i <= 10_000; i++) await store.record(makeReport(`fp-${i}`))
    const app = express()
    app.use(MOUNT, createDashboard(store, { authorize: () => true }, { quiet: () => undefined }))
    const first = await request(app).get(`${MOUNT}/`)
    expect(first.status).to.equal(200)
    expect(first.text).to.include('10000 in all')
    expect(listedRows(first.text)).to.have.length(50)
    expect(first.text).to.include('page 1 of 200')
    const last = await request(app).get(`${MOUNT}/?page=200`)
    expect(listedRows(last.text)).to.have.length(50)
    expect(last.text).to.include('page 200 of 200')
  })

  it('should answer 503 and report nothing when the store fails', async function () {
    const failing = new Proxy({} as IncidentStore, {
      get: () => () => Promise.reject(new Error('store unreachable')),
    })
    const app = express()
    app.use(site.faultline.requestHandler())
    app.use(
      MOUNT,
      createDashboard(
        failing,
        { authorize: () => true },
        { quiet: (req) => void (getState(req).quiet = true) },
      ),
    )
    app.use(site.faultline.errorHandler())
    const before = site.reports.length
    const stderr = await captureStderr(async () => {
      for (const path of ['/', '/api/issues', '/issues/x', '/incidents/0000-0000-0000']) {
        const res = await request(app).get(`${MOUNT}${path}`)
        expect(res.status, path).to.equal(503)
        expect(res.text).to.equal('The incident view could not read its store.\n')
      }
      await settle()
    })
    expect(stderr).to.include('store unreachable')
    expect(site.reports.length).to.equal(before)
  })
})
