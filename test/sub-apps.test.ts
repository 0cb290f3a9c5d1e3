import { expect } from 'chai'
import express, { type Express } from 'express'
import request from 'supertest'
import type { Faultline, FaultlineOptions, Report } from '../lib/index.js'
import { createHarness, settle, waitUntil, type Harness } from './helpers.js'

/**
 * An app with an admin sub-app that is also run and tested on its own, so it
 * installs faultline's first and last middleware itself.
 */
function buildApp(outer: Faultline, inner: Faultline): Express {
  const admin = express()
  admin.use(inner.requestHandler())
  admin.get('/boom', () => {
    throw new TypeError('admin totals are undefined')
  })
  admin.get('/logged', (req, res) => {
    req.log.error('admin ledger %s is off', 'A-7')
    res.status(500).send('the admin page of its own')
  })
  admin.get('/gone', (_req, res) => {
    res.status(404).send('no such user')
  })
  admin.use(inner.errorHandler())

  const app = express()
  app.use(outer.requestHandler())
  app.use('/admin', admin)
  app.get('/boom', () => {
    throw new RangeError('shop totals out of range')
  })
  app.use(outer.notFound())
  app.use(outer.errorHandler())
  return app
}

const CASES: Array<{ path: string; status: number; kind: Report['kind']; paged: boolean }> = [
  { path: '/admin/boom', status: 500, kind: 'traceback', paged: true },
  { path: '/admin/logged', status: 500, kind: 'error', paged: false },
  { path: '/admin/gone', status: 404, kind: 'warning', paged: false },
  { path: '/admin/unknown', status: 404, kind: 'warning', paged: true },
  { path: '/boom', status: 500, kind: 'traceback', paged: true },
  { path: '/nowhere', status: 404, kind: 'warning', paged: true },
]

function checkEachOutcomeOnce(make: () => { outer: Harness; inner: Harness }): void {
  let outer: Harness
  let inner: Harness
  let app: Express

  before(function () {
    ;({ outer, inner } = make())
    app = buildApp(outer.faultline, inner.faultline)
  })

  after(async function () {
    await Promise.all([outer.faultline.close(), inner.faultline.close()])
  })

  for (const { path, status, kind, paged } of CASES) {
    it(`should report GET ${path} once, as ${kind === 'error' ? 'an' : 'a'} ${kind} with status ${status}`, async function () {
      const res = await request(app).get(path).set('Accept', 'application/json')
      expect(res.status).to.equal(status)
      const all = () => {
        const reports = [...outer.reports]
        if (inner !== outer) reports.push(...inner.reports)
        return reports.filter((r) => r.request?.url === path)
      }
      await waitUntil(() => (all().length ? true : undefined), 10_000, `a report of ${path}`)
      await settle()
      const reports = all()
      expect(reports.map((r) => [r.kind, r.status])).to.deep.equal([[kind, status]])
      // the first faultline to see the request reports it: the outer app's
      expect(outer.reports).to.include(reports[0])
      if (paged) {
        // the page faultline answered with quotes the id of the one report
        expect(res.headers['x-incident-id']).to.equal(reports[0]!.id)
        expect(res.text).to.include(reports[0]!.id)
      }
    })
  }
}

describe('mounted sub-apps with middleware of their own', function () {
  const production: FaultlineOptions = { throwErrors: false }

  describe('one faultline for the app and its sub-app', function () {
    checkEachOutcomeOnce(() => {
      const shared = createHarness(production)
      return { outer: shared, inner: shared }
    })
  })

  describe('a faultline each', function () {
    checkEachOutcomeOnce(() => ({
      outer: createHarness(production),
      inner: createHarness(production),
    }))
  })

  describe("a faultline each, the sub-app's under throw-errors as in its own tests", function () {
    checkEachOutcomeOnce(() => ({
      outer: createHarness(production),
      inner: createHarness({ throwErrors: true }),
    }))
  })
})
