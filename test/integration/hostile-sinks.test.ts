import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import request from 'supertest'
import { captureStderr, createApp, createHarness, waitUntil, type Harness } from '../helpers.js'
import { ensureRsyslog, startRsyslog, type Rsyslog } from '../support/rsyslog.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from '../support/smtp.js'

/** A secret a real app would see, unique per test run so that finding it anywhere is a leak. */
function secret(name: string): string {
  return `${name}-${randomBytes(9).toString('base64url')}`
}

const S = Object.fromEntries(
  [
    'authz',
    'cookie',
    'xauth',
    'authn',
    'xsession',
    'apikey',
    'refToken',
    'refPw',
    'originPw',
    'qPw',
    'qTok',
    'causePw',
    'causeKey',
    'deepCause',
    'agg',
    'plainPw',
    'plainKey',
    'pass1',
    'pass2',
    'malformed',
    'userinfo',
    'bearerLog',
    'passphrase',
    'smtpPass',
    'otp',
    'privateKey',
    'clientSecret',
    'refresh',
  ].map((k) => [k, secret(k)]),
) as Record<string, string>
const CARD = 4111111111111111

/** Every file under `dir`, read whole. */
function readTree(dir: string): string {
  let text = ''
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    text += statSync(path).isDirectory()
      ? readTree(path)
      : `\n--- ${path}\n${readFileSync(path, 'utf8')}`
  }
  return text
}

function hostileApp(h: Harness) {
  const app = createApp(h.faultline)
  app.use(express.json())
  app.post('/login', () => {
    const deep = Object.assign(new Error('vault refused'), { token: S.deepCause })
    const cause = Object.assign(new Error('db said no', { cause: deep }), {
      password: S.causePw,
      apiKey: S.causeKey,
    })
    throw new Error('login failed', { cause })
  })
  app.post('/agg', () => {
    throw new AggregateError(
      [Object.assign(new Error('member one'), { client_secret: S.agg })],
      'several failures',
    )
  })
  app.get('/plain', () => {
    throw { password: S.plainPw, apiKey: S.plainKey }
  })
  app.post('/quote', (req) => {
    throw new Error(`bad login for ${req.body.pass} with card ${req.body.card_number}`)
  })
  app.get('/log', (req, res) => {
    req.log.info('calling upstream', {
      url: `https://svc:${S.userinfo}@api.example/x`,
      auth: `Bearer ${S.bearerLog}`,
    })
    req.log.error(
      `upstream refused https://svc:${S.userinfo}@api.example/x with Bearer ${S.bearerLog}`,
    )
    res.status(500).send('upstream down')
  })
  app.use(h.faultline.errorHandler())
  return app
}

describe('hostile input against every sink (real SMTP, rsyslog over RELP, local tickets, file, stderr, spool, pages)', function () {
  this.timeout(120_000)
  let rsyslog: Rsyslog
  let smtp: TestSmtpServer
  let dir: string
  before(async function () {
    this.timeout(180_000)
    await ensureRsyslog()
    rsyslog = await startRsyslog()
    smtp = await startSmtpServer()
    dir = mkdtempSync(join(tmpdir(), 'faultline-sinks-'))
  })
  after(async () => {
    await rsyslog?.close()
    await smtp?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('should let no secret of a request, a body, a thrown value or a log line reach any sink', async () => {
    const h = createHarness({
      stderr: true,
      spoolDir: join(dir, 'spool'),
      file: join(dir, 'errors.log'),
      managers: ['ops@example.org'],
      mail: { url: smtp.url, tls: { ca: getTestCertificate().certFile } },
      syslog: `relp://127.0.0.1:${rsyslog.relpPort}`,
      tickets: `local:${join(dir, 'tickets')}`,
    })
    const agent = request(hostileApp(h))
    const headers = {
      Authorization: `Bearer ${S.authz}`,
      Cookie: `sid=${S.cookie}; theme=dark`,
      'X-Auth': S.xauth,
      Authentication: S.authn,
      'X-Session': S.xsession,
      'X-Api-Key': S.apikey,
      Referer: `https://shop.example/reset?token=${S.refToken}&password=${S.refPw}`,
      Origin: `https://user:${S.originPw}@shop.example`,
    }
    const query = `?password=${S.qPw}&access_token=${S.qTok}`
    const pages: string[] = []
    let spool = ''
    const keep = (res: request.Response) => pages.push(JSON.stringify(res.headers), res.text)
    const stderr = await captureStderr(async () => {
      keep(
        await agent.post(`/login${query}`).set(headers).send({
          user: 'ann',
          password: S.pass1,
          passphrase: S.passphrase,
          smtp_pass: S.smtpPass,
        }),
      )
      keep(
        await agent
          .post(`/agg${query}`)
          .set(headers)
          .send({ otp: S.otp, private_key: S.privateKey }),
      )
      keep(await agent.get(`/plain${query}`).set(headers))
      keep(
        await agent
          .post(`/quote${query}`)
          .set(headers)
          .send({ pass: S.pass1, card_number: CARD, client_secret: S.clientSecret }),
      )
      // the same error again, with another secret quoted: a compact repeat must be scrubbed too
      keep(
        await agent
          .post(`/quote${query}`)
          .set(headers)
          .send({ pass: S.pass2, card_number: CARD, refresh_token: S.refresh }),
      )
      keep(
        await agent
          .post(`/login${query}`)
          .set({ ...headers, 'Content-Type': 'application/json' })
          .send(`{"password":"${S.malformed}", `),
      )
      keep(await agent.get(`/log${query}`).set(headers))
      const reports = await h.waitForReports(7)
      // a clean close leaves no spool behind: read it while its segments still hold the units
      await new Promise((resolve) => setTimeout(resolve, 300))
      spool = readTree(join(dir, 'spool'))
      await waitUntil(
        () => (rsyslog.records().length >= reports.length ? true : undefined),
        20_000,
        'every report in rsyslog',
      )
      await waitUntil(
        () => (smtp.received.length >= 4 ? true : undefined),
        20_000,
        'the first mails',
      )
      await h.faultline.close({ timeoutMs: 5000 })
    })
    const sinks: Record<string, string> = {
      'report event': JSON.stringify(h.reports),
      'winston records': JSON.stringify(h.records),
      file: readFileSync(join(dir, 'errors.log'), 'utf8'),
      stderr,
      'mail text': smtp.received.map((m) => `${m.mail.subject}\n${m.mail.text}`).join('\n'),
      'mail HTML': smtp.received.map((m) => String(m.mail.html)).join('\n'),
      syslog: rsyslog
        .records()
        .map((r) => r.rawmsg)
        .join('\n'),
      'tickets (JSON and Markdown)': readTree(join(dir, 'tickets')),
      spool,
      'pages and response headers': pages.join('\n'),
    }
    for (const [sink, text] of Object.entries(sinks))
      expect(text.length, `${sink} is empty: the test saw nothing`).to.be.greaterThan(20)
    const leaks = Object.entries(sinks).flatMap(([sink, text]) =>
      [...Object.entries(S), ['card', String(CARD)]]
        .filter(([, value]) => text.includes(value!))
        .map(([name]) => `${name} in ${sink}`),
    )
    expect(leaks).to.deep.equal([])
    // what a reader needs is still there
    expect(sinks.file)
      .to.contain('login failed')
      .and.contain('several failures')
      .and.contain('/quote')
    expect(sinks.syslog).to.contain('login failed')
  })
})
