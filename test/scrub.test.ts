import { expect } from 'chai'
import express from 'express'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { compileScrubber } from '../lib/scrub/scrub.js'
import { createApp, createHarness, type Harness } from './helpers.js'

const SECRETS = {
  bearer: 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-9f8e7d',
  cookie: 'sess-4f1c9a7be0d2',
  apiKey: 'ak_live_5566778899',
  password: 'hunter2-correct-horse',
  card: '4111111111111111',
  queryToken: 'qt-0a1b2c3d4e5f',
  dbPassword: 's3cr3t-db-pass',
}

describe('scrubbing', () => {
  let h: Harness
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-scrub-'))
    h = createHarness({
      file: join(dir, 'errors.log'),
      scrub: { headers: ['x-tenant-secret'], fields: [/^pin$/] },
    })
  })
  afterEach(async () => {
    await h.faultline.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function failWithSecrets() {
    const app = createApp(h.faultline)
    app.post('/login', express.json(), (req) => {
      // the worst case: the app quotes secrets in its own error message
      throw new Error(
        `login failed for token ${SECRETS.bearer} and cookie ${SECRETS.cookie}; db postgres://app:${SECRETS.dbPassword}@db/shop; password ${req.body.password}`,
      )
    })
    app.use(h.faultline.errorHandler())
    const res = await request(app)
      .post(`/login?token=${SECRETS.queryToken}&page=2`)
      .set('Authorization', `Bearer ${SECRETS.bearer}`)
      .set('Cookie', `sid=${SECRETS.cookie}; theme=dark`)
      .set('X-Api-Key', SECRETS.apiKey)
      .set('X-Tenant-Secret', 'tenant-secret-value')
      .set('Accept', 'text/html')
      .send({
        user: 'ada',
        password: SECRETS.password,
        card: SECRETS.card,
        pin: '123456',
        nested: { api_key: SECRETS.apiKey },
      })
    const [report] = await h.waitForReports(1)
    return { res, report: report! }
  }

  it('should hide secret headers, fields and query values, keeping the rest', async () => {
    const { report } = await failWithSecrets()
    const headers = report.request!.headers!
    expect(headers.authorization).to.equal('[scrubbed]')
    expect(headers.cookie).to.equal('[scrubbed]')
    expect(headers['x-api-key']).to.equal('[scrubbed]')
    expect(headers['x-tenant-secret']).to.equal('[scrubbed]')
    expect(headers['content-type']).to.equal('application/json')
    expect(report.request!.body).to.deep.equal({
      user: 'ada',
      password: '[scrubbed]',
      card: '[scrubbed]',
      pin: '[scrubbed]',
      nested: { api_key: '[scrubbed]' },
    })
    expect(report.request!.url).to.equal('/login?token=%5Bscrubbed%5D&page=2')
    expect(report.request!.query).to.deep.equal({ token: '[scrubbed]', page: '2' })
  })

  it('should hide a scrubbed value wherever else it turns up: message, stack, URL credentials', async () => {
    const { report } = await failWithSecrets()
    expect(report.message).to.contain('login failed for token [scrubbed]')
    expect(report.error!.stack).to.contain('postgres://app:[scrubbed]@db/shop')
  })

  it('should let no secret reach a report, a log line or a response', async () => {
    const { res, report } = await failWithSecrets()
    await h.faultline.close()
    const logged = readFileSync(join(dir, 'errors.log'), 'utf8')
    const places = {
      report: JSON.stringify(report),
      'log file': logged,
      response: JSON.stringify(res.headers) + res.text,
      records: JSON.stringify(h.records),
    }
    expect(logged).to.contain(report.id)
    for (const [where, text] of Object.entries(places)) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        expect(text, `${name} in ${where}`).not.to.contain(secret)
      }
      expect(text, `tenant secret in ${where}`).not.to.contain('tenant-secret-value')
    }
  })

  it('should compile extra value patterns once and apply them to text', () => {
    const scrubber = compileScrubber({ values: [/\b\d{16}\b/], replacement: '***' })
    expect(scrubber.text('card 4111111111111111 declined', new Set())).to.equal('card *** declined')
    expect(scrubber.text('Authorization: Bearer abcdefgh12345', new Set())).to.equal(
      'Authorization: Bearer ***',
    )
  })
})
