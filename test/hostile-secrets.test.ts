import { expect } from 'chai'
import express from 'express'
import { simpleParser } from 'mailparser'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import type { Logger } from 'winston'
import type { Report } from '../lib/index.js'
import { compileScrubber } from '../lib/scrub/scrub.js'
import { isSecretName } from '../lib/scrub/secret-names.js'
import { formatSyslogLine } from '../transports/syslog/format.js'
import {
  captureStderr,
  createApp,
  createHarness,
  listen,
  waitUntil,
  type Harness,
} from './helpers.js'
import { getDeadPort } from './support/ports.js'

const SYSLOG_HEADER = {
  format: 'rfc5424',
  facility: 1,
  hostname: 'web-1',
  appName: 'test-app',
  procid: '1',
  sdId: 'faultline@32473',
} as const

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)],
  )
}

/**
 * Every place a user reads: the `report` events, the log file, stderr, the
 * mail outbox (each .eml decoded: subject, text and HTML), the local tickets
 * (JSON and Markdown), the syslog line of every record, and the spool files.
 */
class Sinks {
  readonly dir = mkdtempSync(join(tmpdir(), 'faultline-hostile-'))
  h!: Harness
  stderr = ''

  async start(): Promise<void> {
    this.h = createHarness({
      file: { filename: join(this.dir, 'errors.log'), level: 'info' },
      stderr: { level: 'info' },
      managers: ['ops@example.org'],
      mail: { outbox: join(this.dir, 'outbox') },
      tickets: { url: `local:${join(this.dir, 'tickets')}`, digestWindowMs: 100 },
      syslog: `tcp://127.0.0.1:${await getDeadPort()}`,
      spoolDir: join(this.dir, 'spool'),
      scrub: { fields: ['house_secret_field'] },
    })
  }

  /**
   * Runs the requests with stderr captured, closes faultline, and reads every sink. With `filed`,
   * the close waits for a mail and a ticket first: the short close is for the dead syslog
   * receiver, and a loaded machine may not have written the others within it.
   */
  async read(body: () => Promise<void>, filed = false): Promise<Record<string, string>> {
    this.stderr = await captureStderr(async () => {
      await body()
      if (filed)
        await waitUntil(
          () =>
            walk(this.dir).some((f) => f.endsWith('.eml')) &&
            walk(this.dir).some((f) => f.endsWith('.md'))
              ? true
              : undefined,
          10_000,
          'a mail and a ticket',
        )
      await this.h.faultline.close({ timeoutMs: 300 })
    })
    const sinks: Record<string, string> = {
      'report event': JSON.stringify(this.h.reports),
      stderr: this.stderr,
      syslog: this.h.records.map((record) => formatSyslogLine(record, SYSLOG_HEADER)).join('\n'),
    }
    for (const [file, text] of await this.#files()) {
      if (file.endsWith('.eml')) {
        const mail = await simpleParser(text)
        sinks[`mail ${file}`] = [mail.subject, mail.text, mail.html].join('\n')
      } else {
        sinks[file.slice(this.dir.length + 1)] = text
      }
    }
    return sinks
  }

  /**
   * Every file under the directory with its text. Work the short close left running may move a file
   * (a spool entry delivered, a temporary file renamed) between listing and reading: then the
   * directory is listed again, so the file is read under its new name.
   */
  async #files(): Promise<Array<[string, string]>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return walk(this.dir).map((file) => [file, readFileSync(file, 'utf8')])
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 20) throw err
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function expectNone(sinks: Record<string, string>, secrets: Record<string, string>): void {
  for (const [where, text] of Object.entries(sinks)) {
    for (const [name, secret] of Object.entries(secrets))
      expect(text, `${name} in ${where}`).not.to.contain(secret)
  }
}

function expectEverySink(sinks: Record<string, string>, report: Report): void {
  const names = Object.keys(sinks)
  expect(names.some((n) => n.startsWith('mail '))).to.equal(true, 'a mail was written')
  expect(names.some((n) => n.endsWith('.md'))).to.equal(true, 'a ticket was written')
  expect(names.some((n) => n.startsWith('spool'))).to.equal(
    true,
    'the syslog spool holds the report',
  )
  expect(sinks['errors.log']).to.contain(report.id)
  expect(sinks.stderr).to.contain(report.id)
}

describe('hostile input: secrets that must not get through', () => {
  let s: Sinks
  beforeEach(async () => {
    s = new Sinks()
    await s.start()
  })
  afterEach(() => s.close())

  it('should scrub every header whose value is a URL: query secrets, fragment tokens and userinfo', async () => {
    const secrets = {
      reset: 'rst-7f3a9c1e5b',
      password: 'pw-Hunter2-Horse',
      fragment: 'frag-at-91c2d7e4',
      userinfo: 'ui-Pa55word-x',
      original: 'orig-tok-5a6b7c8d',
    }
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.get('/cart', () => {
        throw new Error('cart failed')
      })
      app.use(s.h.faultline.errorHandler())
      await request(app)
        .get('/cart')
        .set(
          'Referer',
          `https://shop.example/reset?token=${secrets.reset}&password=${secrets.password}&page=2`,
        )
        .set('Origin', `https://admin:${secrets.userinfo}@shop.example`)
        .set(
          'X-Redirect-To',
          `https://shop.example/callback#access_token=${secrets.fragment}&state=ok`,
        )
        .set('X-Original-URL', `/account/reset?reset_token=${secrets.original}`)
        .expect(500)
    }, true)
    const report = s.h.reports[0]!
    expect(report.request!.referer).to.equal(
      'https://shop.example/reset?token=%5Bscrubbed%5D&password=%5Bscrubbed%5D&page=2',
    )
    expect(report.request!.headers!.origin).to.equal('https://admin:[scrubbed]@shop.example')
    expectEverySink(sinks, report)
    expectNone(sinks, secrets)
  })

  it('should never copy a body that did not parse, nor what the parser quotes of it', async () => {
    const bodies = [
      '{"password":"hunter2-Secret-1", ',
      '{"password": hunter2Secret2}',
      '{"user":"ada","api_key":"ak-Live-333',
    ]
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.post('/login', express.json(), (_req, res) => res.send('ok'))
      app.post('/raw', express.text({ type: '*/*' }), () => {
        throw new Error('raw body refused')
      })
      app.use(s.h.faultline.errorHandler())
      for (const body of bodies)
        await request(app)
          .post('/login')
          .set('Content-Type', 'application/json')
          .send(body)
          .expect(400)
      await request(app)
        .post('/raw')
        .set('Content-Type', 'text/plain')
        .send('user=ada&password=hunter2-Secret-4&otp=918273')
        .expect(500)
    })
    expect(s.h.reports).to.have.length(4)
    expect(s.h.reports[0]!.error!.fields!.body).to.match(
      /^\[request body, \d+ characters, not shown\]$/,
    )
    expectNone(sinks, {
      a: 'hunter2-Secret-1',
      b: 'hunter2Secret2',
      c: 'ak-Live-333',
      d: 'hunter2-Secret-4',
      otp: '918273',
    })
  })

  it('should scrub fields on causes at any depth, on AggregateError members and on thrown plain objects', async () => {
    const secrets = {
      cause: 'cause-Secret-11',
      deep: 'deep-Secret-22',
      member: 'member-Secret-33',
      plain: 'plain-Secret-44',
      key: 'ak_plain_5566',
      nested: 'nested-Secret-55',
    }
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.get('/cause', () => {
        const deep = Object.assign(new Error('deep'), { client_secret: secrets.deep })
        const cause = Object.assign(new Error('db', { cause: deep }), { password: secrets.cause })
        throw new Error('checkout failed', { cause })
      })
      app.get('/aggregate', () => {
        throw new AggregateError(
          [Object.assign(new Error('one'), { smtp_pass: secrets.member })],
          'all failed',
        )
      })
      app.get('/plain', () => {
        throw { password: secrets.plain, apiKey: secrets.key, user: { passphrase: secrets.nested } }
      })
      app.use(s.h.faultline.errorHandler())
      for (const path of ['/cause', '/aggregate', '/plain'])
        await request(app).get(path).expect(500)
    }, true)
    const [cause, aggregate, plain] = s.h.reports
    expect(cause!.error!.cause!.fields).to.deep.equal({ password: '[scrubbed]' })
    expect(cause!.error!.cause!.cause!.fields).to.deep.equal({ client_secret: '[scrubbed]' })
    expect(aggregate!.error!.errors![0]!.fields).to.deep.equal({ smtp_pass: '[scrubbed]' })
    expect(plain!.error!.message).to.contain("password: '[scrubbed]'")
    expectEverySink(sinks, cause!)
    expectNone(sinks, secrets)
  })

  it('should hide in a compact repeat what the full report hid: body fields and error fields quoted in a message', async () => {
    const secrets = { body: 'body-Secret-77', field: 'field-Secret-88', query: 'q-Secret-99x' }
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.post('/pay', express.json(), (req) => {
        const err = Object.assign(
          new Error(
            `payment refused for ${req.body.password} with ${req.body.house_secret_field} (${req.query.q})`,
          ),
          { password: req.body.password },
        )
        throw err
      })
      app.use(s.h.faultline.errorHandler())
      for (let i = 0; i < 3; i++) {
        await request(app)
          .post(`/pay?token=${secrets.query}&q=${secrets.query}`)
          .send({ password: secrets.body, house_secret_field: secrets.field })
          .expect(500)
      }
    })
    expect(s.h.reports).to.have.length(3)
    expect(s.h.reports[1]!.repeatOf).to.equal(s.h.reports[0]!.id)
    expect(s.h.reports[2]!.message).to.equal(
      'Error: payment refused for [scrubbed] with [scrubbed] ([scrubbed])',
    )
    expectNone(sinks, secrets)
  })

  it('should hide secrets sent as numbers and under the names real apps use, and keep innocent fields', async () => {
    const named = {
      pass: 'v-pass-1a2b',
      passphrase: 'v-phrase-3c4d',
      smtp_pass: 'v-smtp-5e6f',
      pin: '482915',
      otp: '731904',
      private_key: 'v-pk-7g8h',
      client_secret: 'v-cs-9i0j',
      refresh_token: 'v-rt-1k2l',
      access_token: 'v-at-3m4n',
      jwt: 'v-jwt-5o6p',
      auth_code: 'v-ac-7q8r',
      code_verifier: 'v-cv-9s0t',
      mfa: '660914',
      totp: '118822',
      cvv2: '9381',
      security_answer: 'v-sa-1u2v',
      pan: '5500005555555559',
    }
    const innocent = {
      pinned: 'keep-pinned',
      spinner: 'keep-spinner',
      author: 'keep-author',
      tokens_count: 'keep-count',
      passenger: 'keep-passenger',
      className: 'keep-class',
      password_length: 'keep-length',
    }
    const headers = {
      'X-Auth': 'h-xauth-1234',
      Authentication: 'h-authn-5678',
      'X-Session': 'h-sess-9012',
      'X-Csrf-Token': 'h-csrf-3456',
      'X-Amz-Security-Token': 'h-amz-7890',
      'X-Api-Key': 'h-api-1357',
    }
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.post('/checkout', express.json(), (req) => {
        throw new Error(
          `checkout failed: card ${req.body.card_number}, pin ${req.body.pin}, body ${JSON.stringify(req.body)}`,
        )
      })
      app.use(s.h.faultline.errorHandler())
      await request(app)
        .post('/checkout')
        .set(headers)
        .send({ card_number: 4111111111111111, ...named, ...innocent })
        .expect(500)
    })
    const report = s.h.reports[0]!
    const body = report.request!.body as Record<string, unknown>
    for (const name of Object.keys(named)) expect(body[name], name).to.equal('[scrubbed]')
    for (const [name, value] of Object.entries(innocent)) expect(body[name], name).to.equal(value)
    expect(body.card_number).to.equal('[scrubbed]')
    expectNone(sinks, { card: '4111111111111111', ...named, ...headers })
  })

  it('should judge names by word, in both directions', () => {
    const secret = [
      'pass',
      'passphrase',
      'smtp_pass',
      'smtpPass',
      'pin',
      'pinCode',
      'otp',
      'private_key',
      'privateKey',
      'client_secret',
      'clientsecret',
      'refresh_token',
      'accessToken',
      'jwt',
      'bearer',
      'auth_code',
      'code_verifier',
      'mfa_code',
      'totp',
      'cvv2',
      'card_number',
      'pan',
      'security_answer',
      'newpassword',
      'DB_PASSWORD',
      'auth',
      'sessionId',
      'PHPSESSID',
      'recovery_codes',
    ]
    const innocent = [
      'pinned',
      'spinner',
      'author',
      'authority',
      'auth_method',
      'tokens_count',
      'token_type',
      'password_length',
      'session_expires_at',
      'passenger',
      'bypass',
      'passed',
      'className',
      'discard',
      'secretary',
      'tokenizer',
      'company',
      'keyboard',
      'key',
      'span',
    ]
    for (const name of secret) expect(isSecretName(name), name).to.equal(true)
    for (const name of innocent) expect(isSecretName(name), name).to.equal(false)
    for (const name of [
      'X-Auth',
      'Authentication',
      'X-Session',
      'x-api-key',
      'x-csrf-token',
      'x-amz-security-token',
      'X-Auth-User',
    ])
      expect(isSecretName(name, true), name).to.equal(true)
    for (const name of ['x-forwarded-for', 'x-request-id', 'accept', 'user-agent', 'referer'])
      expect(isSecretName(name, true), name).to.equal(false)
  })

  it('should scrub the aborted-request record and req.log.info lines: URL credentials, bearer tokens, remembered secrets, secret meta', async () => {
    const secrets = {
      dsn: 'dsn-Pa55-0001',
      bearer: 'eyJhbGciOi.bearerTok3n.sig77',
      cookie: 'ck-Secret-4242',
      meta: 'meta-Secret-5151',
      referer: 'ref-Tok-6262',
    }
    const sinks = await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.get('/slow', (req, res) => {
        ;(req.log as unknown as Logger).info(
          `connecting to postgres://app:${secrets.dsn}@db/shop with Bearer ${secrets.bearer}; echo ${secrets.cookie}`,
          { password: secrets.meta, user: 'ada' },
        )
        res.write('first part')
        const timer = setInterval(() => res.write('.'), 20)
        res.on('close', () => clearInterval(timer))
      })
      const server = await listen(app)
      await new Promise<void>((resolve) => {
        const req = httpRequest(
          `${server.url}/slow`,
          {
            headers: {
              Cookie: `sid=${secrets.cookie}`,
              'X-Upstream': `postgres://app:${secrets.dsn}@db`,
              'X-Debug': `Bearer ${secrets.bearer}`,
              Referer: `https://shop.example/?token=${secrets.referer}`,
            },
          },
          (res) => {
            res.once('data', () => {
              req.destroy()
              resolve()
            })
          },
        )
        req.on('error', () => undefined)
        req.end()
      })
      await s.h.waitForRecord((r) => r.event === 'aborted')
      await server.close()
    })
    const info = s.h.records.find(
      (r) => r.level === 'info' && String(r.message).startsWith('connecting'),
    )!
    expect(info.message).to.contain(
      'postgres://app:[scrubbed]@db/shop with Bearer [scrubbed]; echo [scrubbed]',
    )
    expect(info).to.include({ password: '[scrubbed]', user: 'ada' })
    expect(sinks['errors.log']).to.contain('request aborted by the client')
    expectNone(sinks, secrets)
  })

  it("should never let a remembered secret blank out the client's IP, User-Agent or the report's facts", async () => {
    const agent = 'Mozilla/5.0 (X11; Linux x86_64) HostileAgent/1.0'
    await s.read(async () => {
      const app = createApp(s.h.faultline)
      app.get('/ua', (req) => {
        throw new Error(`failed for ${String(req.query.q)}`)
      })
      app.get('/undef', () => {
        const order: { total?: { amount: number } } = {}
        return order.total!.amount
      })
      app.use(s.h.faultline.errorHandler())
      await request(app)
        .get(
          `/ua?token=${encodeURIComponent(agent)}&password=127.0.0.1&secret=::ffff:127.0.0.1&q=x`,
        )
        .set('User-Agent', agent)
        .expect(500)
      await request(app).get('/undef?token=undefined&api_key=TypeError').expect(500)
    })
    const [ua, undef] = s.h.reports
    expect(ua!.request!.userAgent).to.equal(agent)
    expect(ua!.request!.headers!['user-agent']).to.equal(agent)
    expect(ua!.request!.ip).to.match(/127\.0\.0\.1$/)
    expect(undef!.message).to.equal(
      "TypeError: Cannot read properties of undefined (reading 'amount')",
    )
  })
})

describe('hostile input: text scrubbing by pattern', () => {
  const scrubber = compileScrubber()
  const text = (value: string) => scrubber.text(value, new Set())

  it('should hide secret name=value pairs however they are quoted, and leave prose alone', () => {
    expect(text('{"password":"hunter2x","user":"ada"}')).to.equal(
      '{"password":"[scrubbed]","user":"ada"}',
    )
    expect(text("{ apiKey: 'ak_9988776655', user: 'ada' }")).to.equal(
      "{ apiKey: '[scrubbed]', user: 'ada' }",
    )
    expect(text('Server=db;User Id=app;Password=s3cret-pw;')).to.equal(
      'Server=db;User Id=app;Password=[scrubbed];',
    )
    expect(text('X-Api-Key: k3y-abcdef, then')).to.equal('X-Api-Key: [scrubbed], then')
    expect(text('Authorization: Bearer abc.def.123456')).to.equal(
      'Authorization: Bearer [scrubbed]',
    )
    expect(text('password: too short')).to.equal('password: too short')
    expect(text('Basic authentication failed')).to.equal('Basic authentication failed')
    expect(text('at handler (/app/routes/token.js:12:5)')).to.equal(
      'at handler (/app/routes/token.js:12:5)',
    )
  })

  it('should hide URL passwords, tokens used as the user, and card numbers in any text', () => {
    expect(text('redis://:r3dis-pw@cache:6379/0')).to.equal('redis://:[scrubbed]@cache:6379/0')
    expect(text('clone https://ghp_0123456789abcdefghijklmn@github.com/x/y')).to.equal(
      'clone https://[scrubbed]@github.com/x/y',
    )
    expect(text('ssh://git@github.com/x/y')).to.equal('ssh://git@github.com/x/y')
    expect(
      text(
        'charged 4111 1111 1111 1111 and 5500-0055-5555-5559, order 4111111111111112, at 1700000000000',
      ),
    ).to.equal('charged [scrubbed] and [scrubbed], order 4111111111111112, at 1700000000000')
  })

  it('should cut, never skip, what lies past the scanning caps', () => {
    const late = `${'a=b&'.repeat(5000)}password=leak-Secret-1`
    const out = text(late)
    expect(out).not.to.contain('leak-Secret-1')
    expect(out).to.match(/more characters not shown\]$/)
    const huge = text(`${'x'.repeat(200_000)}password=leak-Secret-2`)
    expect(huge).not.to.contain('leak-Secret-2')
    expect(huge.length).to.be.below(70_000)
  })

  it('should keep a report of a hostile request bounded: 10,000 fields, a 1 MB message, 10,000 causes, 400 nested members', async () => {
    const h = createHarness()
    try {
      const app = createApp(h.faultline)
      const long = (label: string) => new Error(`${label} ${'m'.repeat(8000)}`)
      app.post('/fields', express.json({ limit: '4mb' }), () => {
        let err = new Error('root')
        for (let i = 0; i < 10_000; i++)
          err = new Error(`level ${i} ${'m'.repeat(2000)}`, { cause: err })
        throw Object.assign(err, { message: `${err.message}${'x'.repeat(1024 * 1024)}` })
      })
      app.get('/members', () => {
        throw new AggregateError(
          Array.from(
            { length: 20 },
            (_, i) =>
              new AggregateError(
                Array.from({ length: 20 }, (_, j) => long(`${i}.${j}`)),
                `group ${i}`,
              ),
          ),
          'all',
        )
      })
      app.use(h.faultline.errorHandler())
      const body = Object.fromEntries(
        Array.from({ length: 10_000 }, (_, i) => [`field${i}`, `value-${i}-${'v'.repeat(100)}`]),
      )
      await request(app).post('/fields').send(body).expect(500)
      await request(app).get('/members').expect(500)
      const [chain, members] = await h.waitForReports(2)
      expect(Object.keys(chain!.request!.body as object)).to.have.length(100)
      let depth = 0
      for (let e = chain!.error; e; e = e.cause) depth++
      expect(depth).to.be.at.most(9)
      const count = (e: Report['error']): number =>
        e ? 1 + count(e.cause) + (e.errors ?? []).reduce((n, m) => n + count(m), 0) : 0
      expect(count(members!.error)).to.be.at.most(33)
      for (const report of [chain!, members!])
        expect(JSON.stringify(report).length).to.be.below(300 * 1024)
    } finally {
      await h.faultline.close()
    }
  })
})
