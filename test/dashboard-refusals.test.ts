import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { createFaultline, type Faultline, type Report } from '../lib/index.js'
import { listen, settle, waitUntil } from './helpers.js'
import {
  MOUNT,
  cookieOf,
  csrfOf,
  OPS_COOKIE,
  startDashboardSite,
  type DashboardSite,
} from './fixtures/dashboard-app.js'

/** An app whose view is behind `authorize`, with a warning limit, reports kept. */
async function startGuardedSite(
  authorize: (req: express.Request) => unknown,
  warningLimit: { perClient: number; windowMs: number } | false = false,
): Promise<{ url: string; faultline: Faultline; reports: Report[]; close(): Promise<void> }> {
  const faultline = createFaultline({
    appName: 'shop',
    env: false,
    stderr: false,
    spoolDir: false,
    warningLimit,
  })
  const reports: Report[] = []
  faultline.on('report', (report) => reports.push(report))
  const app = express()
  app.use(faultline.requestHandler())
  app.use(MOUNT, faultline.dashboard({ authorize: authorize as (req: express.Request) => boolean }))
  app.use(faultline.notFound())
  app.use(faultline.errorHandler())
  const server = await listen(app)
  let closed = false
  return {
    url: server.url,
    faultline,
    reports,
    close: async () => {
      if (closed) return
      closed = true
      await server.close()
      await faultline.close()
    },
  }
}

describe('incident view: what it turns away', function () {
  let site: DashboardSite

  beforeEach(async function () {
    site = await startDashboardSite()
  })

  afterEach(async function () {
    await site.close()
  })

  /** The issue page's form, ready to post any action with a valid token. */
  async function formOf(): Promise<{ fingerprint: string; post(body: string): request.Test }> {
    await request(site.url).get('/orders/1')
    const issue = await waitUntil(
      () => site.reports.find((r) => r.kind === 'traceback'),
      10_000,
      'the traceback',
    )
    const path = `${MOUNT}/issues/${issue.fingerprint}`
    await waitUntil(
      () => (site.reports.length ? true : undefined),
      10_000,
      'the issue in the store',
    )
    const page = await request(site.url).get(path).set('Cookie', OPS_COOKIE)
    const cookies = `${OPS_COOKIE}; ${cookieOf(page)}`
    const token = csrfOf(page.text)
    return {
      fingerprint: issue.fingerprint,
      post: (body: string) =>
        request(site.url)
          .post(path)
          .set('Cookie', cookies)
          .type('form')
          .send(`csrf=${encodeURIComponent(token)}&${body}`),
    }
  }

  it('should answer 400 to any action it does not list, names on Object.prototype included, and change nothing', async function () {
    const form = await formOf()
    const before = site.reports.length
    const refused = [
      'mute-constructor',
      'mute-__proto__',
      'mute-toString',
      'mute-hasOwnProperty',
      'mute-valueOf',
      'constructor',
      '__proto__',
      'toString',
      'mute-',
      'mute-year',
      'RESOLVE',
      'resolve%20',
      '',
    ]
    for (const action of refused) {
      const res = await form.post(`action=${action}`)
      expect(res.status, action).to.equal(400)
      expect(res.text).to.equal('Unknown action.\n')
    }
    // the view's own action still works after all of them
    expect((await form.post('action=resolve&action=resolve')).status).to.equal(303)
    const issue = await site.faultline.issue(form.fingerprint)
    expect(issue!.status).to.equal('resolved')
    expect(issue!.mutedUntil).to.equal(undefined)
    await waitUntil(
      () => (site.reports.length - before >= refused.length ? true : undefined),
      10_000,
      'a warning per refused action',
    )
    const warnings = site.reports.slice(before)
    expect(warnings).to.have.length(refused.length)
    for (const warning of warnings)
      expect(warning).to.include({
        kind: 'warning',
        status: 400,
        suspicious: 'incident view: an action it does not have',
      })
  })

  it('should report every refused request under its path as a warning naming the view, and its own pages never', async function () {
    const form = await formOf()
    const before = site.reports.length
    await request(site.url).get(`${MOUNT}/`).expect(404)
    await request(site.url).get(`${MOUNT}/api/issues?limit=500`).expect(404)
    await request(site.url).get(`${MOUNT}/.env`).expect(404)
    await request(site.url).get(`${MOUNT}/no/such/page`).set('Cookie', OPS_COOKIE).expect(404)
    await request(site.url)
      .post(`${MOUNT}/issues/${form.fingerprint}`)
      .set('Cookie', OPS_COOKIE)
      .type('form')
      .send('action=resolve')
      .expect(403)
    // the view's own pages, a typed id that matches nothing and a good form are not probes
    await request(site.url).get(`${MOUNT}/`).set('Cookie', OPS_COOKIE).expect(200)
    await request(site.url).get(`${MOUNT}/incidents?id=nope`).set('Cookie', OPS_COOKIE).expect(404)
    await request(site.url).get(`${MOUNT}/issues/unknown`).set('Cookie', OPS_COOKIE).expect(404)
    await form.post('action=mute-day').expect(303)
    await waitUntil(
      () => (site.reports.length - before >= 5 ? true : undefined),
      10_000,
      'five warnings',
    )
    await settle()
    expect(
      site.reports.slice(before).map((r) => [r.kind, r.status, r.request?.url, r.suspicious]),
    ).to.deep.equal([
      ['warning', 404, `${MOUNT}/`, 'incident view: refused by authorize'],
      ['warning', 404, `${MOUNT}/api/issues?limit=500`, 'incident view: refused by authorize'],
      ['warning', 404, `${MOUNT}/.env`, 'incident view: refused by authorize'],
      ['warning', 404, `${MOUNT}/no/such/page`, 'incident view: no such page'],
      [
        'warning',
        403,
        `${MOUNT}/issues/${form.fingerprint}`,
        'incident view: a form without its CSRF token, or from another site',
      ],
    ])
  })

  it("should hold back a guesser's flood under the warning limit and count it in the summary", async function () {
    const guarded = await startGuardedSite(() => false, { perClient: 3, windowMs: 3_600_000 })
    try {
      for (let i = 0; i < 20; i++)
        await request(guarded.url).get(`${MOUNT}/?guess=${i}`).set('Authorization', `Basic ${i}`)
      await guarded.close()
      const warnings = guarded.reports.filter((r) => !r.dropped)
      expect(warnings).to.have.length(3)
      for (const warning of warnings)
        expect(warning.suspicious).to.equal('incident view: refused by authorize')
      const summary = guarded.reports.find((r) => r.dropped)
      expect(summary!.dropped!.total).to.equal(17)
      expect(summary!.dropped!.clients[0]).to.deep.include({ family: 'incident-view', count: 17 })
    } finally {
      await guarded.close()
    }
  })

  it('should answer a throwing or rejecting authorize with a plain 403, and report each cause once as a traceback', async function () {
    let calls = 0
    const guarded = await startGuardedSite((req) => {
      calls++
      // the classic: a session-less request has no req.user
      if (req.query.how === 'reject')
        return Promise.reject(new Error(`session store down (${req.headers['x-n']})`))
      return (req as unknown as { user: { role: string } }).user.role === 'ops'
    })
    try {
      for (let i = 0; i < 5; i++) {
        const res = await request(guarded.url).get(`${MOUNT}/`)
        expect(res.status).to.equal(403)
        expect(res.text).to.equal('Forbidden\n')
        expect(res.text).to.not.match(/role|undefined|TypeError/)
      }
      await request(guarded.url).get(`${MOUNT}/?how=reject`).set('x-n', '1').expect(403)
      await waitUntil(() => (guarded.reports.length >= 6 ? true : undefined), 10_000, 'six reports')
      await settle()
      expect(calls).to.equal(6)
      const tracebacks = guarded.reports.filter((r) => r.kind === 'traceback')
      expect(tracebacks.map((r) => r.message)).to.deep.equal([
        "AuthorizeError: the incident view's authorize failed: TypeError: Cannot read properties of undefined (reading 'role')",
        "AuthorizeError: the incident view's authorize failed: Error: session store down (1)",
      ])
      expect(tracebacks[0]!.status).to.equal(403)
      expect(tracebacks[0]!.error!.cause!.name).to.equal('TypeError')
      expect(tracebacks[0]!.error!.cause!.stack).to.contain('dashboard-refusals.test.ts')
      const repeats = guarded.reports.filter((r) => r.kind === 'warning')
      expect(repeats).to.have.length(4)
      for (const repeat of repeats)
        expect(repeat).to.include({
          status: 403,
          suspicious: 'incident view: authorize failed again (reported once)',
        })
    } finally {
      await guarded.close()
    }
  })

  it('should stay up and answer 403 whatever a failing authorize throws', async function () {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap')
        },
        getPrototypeOf() {
          throw new Error('trap')
        },
      },
    )
    const thrown: unknown[] = [
      null,
      undefined,
      'a string',
      42,
      Symbol('s'),
      hostile,
      Object.assign(Object.create(null) as object, { message: 'x'.repeat(1_000_000) }),
    ]
    const answers: Array<() => unknown> = [
      ...thrown.map((value) => () => {
        throw value
      }),
      ...thrown.map((value) => () => Promise.reject(value)),
      // a thenable whose `then` cannot even be read
      () => ({
        get then() {
          throw new Error('no then')
        },
      }),
    ]
    let which = 0
    const guarded = await startGuardedSite(() => answers[which]!())
    try {
      for (which = 0; which < answers.length; which++) {
        const res = await request(guarded.url).get(`${MOUNT}/`)
        expect(res.status, String(which)).to.equal(403)
        expect(res.text).to.equal('Forbidden\n')
      }
      await waitUntil(
        () => (guarded.reports.length >= answers.length ? true : undefined),
        10_000,
        'a report per request',
      )
      for (const report of guarded.reports) {
        expect(report.status).to.equal(403)
        expect(report.message.length).to.be.below(400)
      }
    } finally {
      await guarded.close()
    }
  })

  it('should take a thrown 4xx from authorize as a refusal, answered 404', async function () {
    const guarded = await startGuardedSite(() => {
      throw Object.assign(new Error('Unauthorized'), { status: 401 })
    })
    try {
      await request(guarded.url).get(`${MOUNT}/`).expect(404, 'Not Found\n')
      const [report] = await waitUntil(
        () => (guarded.reports.length ? guarded.reports : undefined),
        10_000,
        'the warning',
      )
      expect(report).to.include({
        kind: 'warning',
        status: 404,
        suspicious: 'incident view: refused by authorize (it threw a 401)',
      })
    } finally {
      await guarded.close()
    }
  })
})
