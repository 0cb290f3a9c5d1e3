import { expect } from 'chai'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { simpleParser } from 'mailparser'
import request from 'supertest'
import express from 'express'
import type { Logger } from 'winston'
import { composeReportMail } from '../transports/mail/format.js'
import { MailThrottle } from '../transports/mail/throttle.js'
import type { Report } from '../lib/report/report.js'
import { getErrorFrames } from '../lib/source/source-context.js'
import { RequestLifecycle } from '../lib/middleware/lifecycle.js'
import { occurrencesComment, ticketBody, toRedmineText } from '../transports/ticket/format.js'
import { RedmineAdapter } from '../transports/ticket/redmine.js'
import { ensureMarkup, renderMarkup } from './support/markup.js'
import { formatSyslogLine, unescapeLine } from '../transports/syslog/format.js'
import { createApp, createHarness, listen, waitUntil, type Harness } from './helpers.js'

const MARKUP_SAMPLE =
  '<script>alert(1)</script> </pre><a href="https://evil.example">x</a> [x](https://evil.example)'

/** Lines only a leak would put in a mail, a page or a ticket. */
const SECRETS = [
  'hunter2-env-secret',
  'json-secret-key',
  'pem-secret-body',
  'txt-secret-note',
  'hidden-js-secret',
  'dotdir-secret',
  'outside-secret',
  'root:x:0:0',
]

/**
 * An app directory with secrets beside the code, symlinks dressed up as code,
 * a file outside it, and one real module that throws a message quoting its input.
 */
function makeAppRoot(): {
  base: string
  root: string
  files: Record<string, string>
  modulePath: string
} {
  const base = mkdtempSync(join(tmpdir(), 'faultline-hostile-'))
  const root = join(base, 'app')
  const outside = join(base, 'outside')
  mkdirSync(join(root, '.secrets'), { recursive: true })
  mkdirSync(join(root, 'src'), { recursive: true })
  mkdirSync(outside, { recursive: true })
  const put = (path: string, secret: string) =>
    writeFileSync(path, `first line\n${secret}\nthird line\n`)
  const files: Record<string, string> = {
    env: join(root, '.env'),
    json: join(root, 'config.json'),
    key: join(root, 'server.key'),
    txt: join(root, 'notes.txt'),
    hidden: join(root, '.hidden.js'),
    dotdir: join(root, '.secrets', 'creds.js'),
    outside: join(outside, 'creds.js'),
    linkToEnv: join(root, 'src', 'innocent.js'),
    linkOutside: join(root, 'src', 'linked.js'),
    passwd: '/etc/passwd',
  }
  put(files.env!, 'DB_PASSWORD=hunter2-env-secret')
  put(files.json!, '"apiKey": "json-secret-key"')
  put(files.key!, '-----BEGIN PRIVATE KEY----- pem-secret-body')
  put(files.txt!, 'txt-secret-note')
  put(files.hidden!, 'const s = "hidden-js-secret"')
  put(files.dotdir!, 'const s = "dotdir-secret"')
  put(files.outside!, 'const s = "outside-secret"')
  symlinkSync(files.env!, files.linkToEnv!)
  symlinkSync(files.outside!, files.linkOutside!)
  const modulePath = join(root, 'src', 'search.mjs')
  writeFileSync(
    modulePath,
    "export function search(q) {\n  throw new Error('no results for ' + q) // the real throw line\n}\n",
  )
  return { base, root, files, modulePath }
}

/** Messages that quote input forging frames at `path`, in every shape V8 prints one. */
function forgeries(path: string): string[] {
  return [
    `x\n    at f (${path}:2:1)`,
    `x\n    at async Object.handler (${pathToFileURL(path).href}:2:5)`,
    `x\n    at ${path}:2:1`,
    `x\r\n    at f (${path}:2:1)\n    at g (${path}:1:1)`,
  ]
}

function emlNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.eml'))
  } catch {
    return []
  }
}

function emlCount(dir: string): number {
  return emlNames(dir).length
}

/** Whether a mail in the outbox (as raw .eml, quoted-printable undone) contains `text`. */
function findMail(dir: string, text: string): true | undefined {
  for (const name of emlNames(dir)) {
    const raw = readFileSync(join(dir, name), 'utf8').replace(/=\r?\n/g, '')
    if (raw.includes(text)) return true
  }
  return undefined
}

function readMails(dir: string): Promise<Array<{ text: string; html: string }>> {
  const names = emlNames(dir)
  return Promise.all(
    names.map(async (name) => {
      const mail = await simpleParser(readFileSync(join(dir, name)))
      return { text: mail.text ?? '', html: typeof mail.html === 'string' ? mail.html : '' }
    }),
  )
}

describe('hostile input', () => {
  describe('source context quoted by a message', () => {
    let fixture: ReturnType<typeof makeAppRoot>
    let search: (q: string) => never
    let h: Harness | undefined
    before(async () => {
      fixture = makeAppRoot()
      search = (
        (await import(pathToFileURL(fixture.modulePath).href)) as { search: (q: string) => never }
      ).search
    })
    after(() => rmSync(fixture.base, { recursive: true, force: true }))
    afterEach(async () => {
      await h?.faultline.close()
      h = undefined
    })

    function appWith(harness: Harness) {
      const app = createApp(harness.faultline)
      app.get('/search', (req) => search(String(req.query.q)))
      app.use(harness.faultline.errorHandler())
      return app
    }

    const inputs = () => Object.values(fixture.files).flatMap(forgeries)

    it('should never mail a line of a file that a forged frame names, in the text or the HTML part', async function () {
      this.timeout(20_000)
      const outbox = join(fixture.base, 'outbox')
      h = createHarness({ appRoot: fixture.root, managers: ['ops@example.org'], mail: { outbox } })
      const app = appWith(h)
      const all = inputs()
      // each input is its own mail: the message (and so the fingerprint) differs by what it quotes
      for (const q of all) await request(app).get('/search').query({ q }).expect(500)
      const reports = await h.waitForReports(all.length)
      await waitUntil(() => (emlCount(outbox) >= 1 ? true : undefined), 10_000, 'a mail')
      // what went out, plus each report's mail as the transport composes it (later ones of a fingerprint only make a digest)
      const mails = [
        ...(await readMails(outbox)),
        ...reports.map((r) => composeReportMail(r, fixture.root)),
      ]
      for (const mail of mails) {
        for (const secret of SECRETS) {
          expect(mail.text, secret).to.not.contain(secret)
          expect(mail.html, secret).to.not.contain(secret)
        }
        // the real frame still shows its source
        expect(mail.text).to.contain('the real throw line')
      }
    })

    it("should never show a forged frame's file on the debug page, as HTML, JSON or text", async function () {
      this.timeout(20_000)
      h = createHarness({ appRoot: fixture.root, debug: true })
      const app = appWith(h)
      for (const q of inputs()) {
        for (const accept of ['text/html', 'application/json', 'text/plain']) {
          const res = await request(app)
            .get('/search')
            .query({ q })
            .set('Accept', accept)
            .expect(500)
          for (const secret of SECRETS)
            expect(res.text, `${accept} ${JSON.stringify(q)}`).to.not.contain(secret)
          if (accept !== 'text/plain') expect(res.text).to.contain('the real throw line')
        }
      }
    })

    it("should never put a forged frame's file into a ticket", async function () {
      this.timeout(20_000)
      const dir = join(fixture.base, 'tickets')
      h = createHarness({ appRoot: fixture.root, tickets: `local:${dir}` })
      const app = appWith(h)
      const all = inputs()
      for (const q of all) await request(app).get('/search').query({ q }).expect(500)
      // the tracker files at most 30 new errors an hour (and one summary of the rest)
      await waitUntil(
        () =>
          readdirSync(dir).filter((f) => f.endsWith('.md')).length >= Math.min(all.length, 30)
            ? true
            : undefined,
        10_000,
        'the tickets',
      )
      for (const name of readdirSync(dir)) {
        const text = readFileSync(join(dir, name), 'utf8')
        for (const secret of SECRETS) expect(text, `${name} ${secret}`).to.not.contain(secret)
      }
    })

    it('should read frames only after the message, whatever lines the message holds', () => {
      const real = `${fixture.modulePath}:2:9`
      for (const message of forgeries(fixture.files.hidden!)) {
        const error = {
          name: 'Error',
          message,
          stack: `Error: ${message}\n    at search (${real})`,
        }
        const frames = getErrorFrames(error, { root: fixture.root })
        expect(frames.map((f) => f.file)).to.deep.equal([fixture.modulePath])
      }
    })

    it('should show source only for code files inside the root, never through a symlink out of it', () => {
      for (const file of Object.values(fixture.files)) {
        // even a genuine-looking stack gets no context for these files
        const frames = getErrorFrames(
          { name: 'Error', message: 'x', stack: `Error: x\n    at f (${file}:2:1)` },
          { root: fixture.root },
        )
        expect(frames[0]?.context, file).to.equal(undefined)
      }
      const [real] = getErrorFrames(
        { name: 'Error', message: 'x', stack: `Error: x\n    at f (${fixture.modulePath}:2:1)` },
        { root: fixture.root },
      )
      expect(real?.context?.find((l) => l.current)?.text).to.contain('the real throw line')
    })
  })

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
        3000,
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

  describe('syslog lines', () => {
    /** A strict RFC 5424 reader: the header fields, then structured data parsed element by element. */
    function parse5424(line: string): {
      fields: string[]
      sd: Array<{ id: string; params: Array<[string, string]> }>
      msg: string
    } {
      const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line)
      expect(head, line).to.not.equal(null)
      const fields = head!.slice(2, 7)
      const [, hostname, appName, procid, msgid] = fields
      for (const [field, max] of [
        [hostname, 255],
        [appName, 48],
        [procid, 128],
        [msgid, 32],
      ] as Array<[string, number]>) {
        expect(field, line).to.match(/^[\x21-\x7e]+$/)
        expect(field.length, field).to.be.at.most(max)
      }
      let at = head![0].length
      const sd: Array<{ id: string; params: Array<[string, string]> }> = []
      if (line[at] === '-') at++
      while (line[at] === '[') {
        const id = /^\[([^\x00-\x20=\]"\x7f-\uffff]{1,32})/.exec(line.slice(at))
        expect(id, line.slice(at)).to.not.equal(null)
        at += id![0].length
        const params: Array<[string, string]> = []
        while (line[at] === ' ') {
          const name = /^ ([^\x00-\x20=\]"\x7f-\uffff]{1,32})="/.exec(line.slice(at))
          expect(name, line.slice(at)).to.not.equal(null)
          at += name![0].length
          let value = ''
          while (line[at] !== '"') {
            expect(at, 'unterminated SD value').to.be.below(line.length)
            // RFC 5424 6.3.3: only \", \\ and \] are escapes; any other backslash stands for itself
            if (line[at] === '\\' && '"\\]'.includes(line[at + 1] ?? '')) at++
            else expect(line[at], 'unescaped ] in an SD value').to.not.equal(']')
            value += line[at++]
          }
          at++
          params.push([name![1]!, value])
        }
        expect(line[at], line.slice(at)).to.equal(']')
        at++
        sd.push({ id: id![1]!, params })
      }
      expect(line[at] === undefined || line[at] === ' ', line.slice(at)).to.equal(true)
      return { fields, sd, msg: line.slice(at + 1) }
    }

    const hostile = [
      'a b',
      'x\n<13>1 2020-01-01T00:00:00Z evil app - FORGED - injected',
      'caf\u00e9',
      'A'.repeat(100),
      '[x="y"]',
      '"',
      'a]b\\',
      '\u2028',
      '\u0085',
      '\r',
      '\u0000',
    ]

    it("should keep a request-controlled event out of the MSGID and the line's framing, on a real request", async () => {
      const h = createHarness()
      try {
        const app = createApp(h.faultline)
        app.get('/e', (req, res) => {
          // (a benchmark's pino-http typing also claims req.log; this is faultline's winston logger)
          ;(req.log as unknown as Logger).info('user event', { event: String(req.query.e) })
          res.send('ok')
        })
        for (const e of hostile) await request(app).get('/e').query({ e }).expect(200)
        const records = await waitUntil(
          () => {
            const r = h.records.filter((x) => x.message === 'user event')
            return r.length >= hostile.length ? r : undefined
          },
          3000,
          'the info lines',
        )
        for (const format of ['rfc5424', 'rfc3164'] as const) {
          for (const record of records) {
            const line = formatSyslogLine(record, {
              format,
              facility: 16,
              hostname: 'web-1',
              appName: 'shop',
              procid: '42',
              sdId: 'faultline@32473',
            })
            expect(line, line).to.not.match(/[\r\n\0\u0085\u2028\u2029]/)
            if (format === 'rfc5424') {
              const { sd } = parse5424(line)
              expect(sd[0]?.params.find(([k]) => k === 'event')).to.not.equal(undefined)
            }
          }
        }
      } finally {
        await h.faultline.close()
      }
    })

    it('should make every header field printable US-ASCII within its length, whatever the transport was given', () => {
      for (const bad of hostile) {
        const header = {
          format: 'rfc5424' as const,
          facility: 16,
          hostname: `host ${bad}`,
          appName: `app ${bad}`,
          procid: `1 ${bad}`,
          sdId: `sd ${bad}=x`,
        }
        const line = formatSyslogLine(
          { level: 'info', message: 'm', event: bad, time: `2020 ${bad}` },
          header,
        )
        expect(line).to.not.match(/[\r\n\0]/)
        parse5424(line)
        const legacy = formatSyslogLine(
          { level: 'info', message: 'm', event: bad },
          { ...header, format: 'rfc3164' },
        )
        expect(legacy).to.match(
          /^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d [\x21-\x7e]+ [A-Za-z0-9_.-]{1,32}\[[\x21-\x7e]+\]: /,
        )
        expect(legacy).to.not.match(/[\r\n\0]/)
      }
    })

    it('should escape quotes, backslashes and ] in structured-data values of a report and survive a forged one', () => {
      for (const bad of hostile) {
        const report = {
          level: 'warn',
          kind: 'warning',
          id: `I${bad}`,
          fingerprint: `f${bad}`,
          message: `m${bad}`,
          time: 'x',
          suspicious: `probe ${bad}`,
          request: { method: `GET${bad}`, url: `/p${bad}?q=1`, route: `/r/${bad}` },
        }
        const { sd, msg } = parse5424(
          formatSyslogLine(report, {
            format: 'rfc5424',
            facility: 1,
            hostname: 'h',
            appName: 'a',
            procid: '1',
            sdId: 'faultline@32473',
          }),
        )
        const params = Object.fromEntries(sd[0]!.params)
        expect(unescapeLine(params.suspicious!)).to.equal(`probe ${bad}`)
        expect(unescapeLine(params.route!)).to.equal(`/r/${bad}`)
        expect(msg).to.not.match(/[\r\n]/)
        // a record that only pretends to be a report, with fields of the wrong types, still makes a line
        const forged = {
          level: 'warn',
          kind: `w ${bad}`,
          id: '1',
          fingerprint: '2',
          message: 5,
          request: { url: 7, method: {} },
          error: { stack: 1, errors: 'not an array' },
        }
        parse5424(
          formatSyslogLine(forged as unknown as Record<string, unknown>, {
            format: 'rfc5424',
            facility: 1,
            hostname: 'h',
            appName: 'a',
            procid: '1',
            sdId: 'x',
          }),
        )
      }
    })
  })

  describe('mail budget under a probe storm', () => {
    it("should mail a traceback at once after a scanner's probes used up the warnings' ceiling", async function () {
      this.timeout(20_000)
      const base = mkdtempSync(join(tmpdir(), 'faultline-budget-'))
      const outbox = join(base, 'outbox')
      const h = createHarness({ managers: ['ops@example.org'], mail: { outbox, level: 'warn' } })
      try {
        const app = createApp(h.faultline)
        app.get('/boom', () => {
          throw new Error('real traceback after the storm')
        })
        app.use(h.faultline.errorHandler())
        // 40 distinct probes from one client, each its own fingerprint: more than the whole hourly ceiling (30)
        const words = Array.from(
          { length: 40 },
          (_, i) =>
            `probe${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
        )
        for (const word of words) await request(app).get(`/${word}.php`).expect(404)
        await h.waitForReports(40)
        await request(app).get('/boom').expect(500)
        const found = await waitUntil(
          () =>
            emlNames(outbox).length
              ? findMail(outbox, 'real traceback after the storm')
              : undefined,
          5000,
          "the traceback's mail",
        )
        expect(found).to.equal(true)
        // the probes were mailed only up to their own, smaller ceiling
        const probeMails = emlNames(outbox).length - 1
        expect(probeMails).to.be.below(30)
      } finally {
        await h.faultline.close()
        rmSync(base, { recursive: true, force: true })
      }
    })

    it('should keep separate ceilings for warnings and errors in the throttle itself', () => {
      const sent: string[] = []
      const held: string[] = []
      const throttle = new MailThrottle(
        { windowMs: 60_000, maxPerPeriod: 30, periodMs: 3_600_000 },
        {
          sendReport: (r) => sent.push(r.kind),
          sendDigest: () => undefined,
          sendHeldBack: (h) => held.push(`${h.budget}:${h.mails}`),
        },
      )
      const report = (kind: Report['kind'], i: number) =>
        ({ kind, fingerprint: `${kind}${i}`, id: `${i}`, time: '', message: 'm' }) as Report
      for (let i = 0; i < 200; i++) throttle.add(report('warning', i))
      for (let i = 0; i < 30; i++) throttle.add(report(i % 2 ? 'traceback' : 'error', i))
      expect(sent.filter((k) => k !== 'warning')).to.have.length(30)
      expect(sent.filter((k) => k === 'warning')).to.have.length(10)
      void throttle.flush()
      expect(held).to.deep.equal(['warnings:190'])
    })
  })

  describe('ticket text', () => {
    const MARKUP = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '[click](https://evil.example/md)',
      'https://evil.example/bare',
      'www.evil.example',
      '**bold** _em_ ~~del~~',
      '</pre><a href="https://evil.example/a">x</a>',
      '"textile":https://evil.example/t !https://evil.example/i.png!',
      '&lt;b&gt; &amp; &#60;',
      '| a | b |',
      '<notextile>*x*</notextile> <code>y</code>',
      '{{toc}}',
    ]
    const MULTILINE = '```\n# Heading\n````\n<b>after the fence</b>\nh1. textile heading'
    // what the layout itself uses; anything else in the rendered HTML came from the input
    const LAYOUT = new Set(['h1', 'h2', 'h3', 'ul', 'li', 'strong', 'code', 'pre', 'p'])
    const strip = (text: string) => text.replace(/\u200b/g, '')

    let base: string
    before(async function () {
      this.timeout(600_000)
      base = mkdtempSync(join(tmpdir(), 'faultline-tickets-hostile-'))
      await ensureMarkup()
    })
    after(() => rmSync(base, { recursive: true, force: true }))

    async function fileHostileTicket(dir: string): Promise<Report> {
      const h = createHarness({ tickets: `local:${dir}` })
      try {
        const app = createApp(h.faultline)
        app.get('/t', (req) => {
          req.log.error(`logged ${MARKUP.join(' ')}\n${MULTILINE}`)
          throw new Error(`failed for ${MARKUP.join(' ')} [fp:0123456789abcdef]`)
        })
        app.use(h.faultline.errorHandler())
        await request(app)
          .get('/t')
          .query({ q: MARKUP[0] })
          .set('User-Agent', `UA ${MARKUP.join(' ')}`)
          .set('Referer', `https://evil.example/ref?${MARKUP[2]}`)
          .expect(500)
        const [report] = await h.waitForReports(1)
        await waitUntil(
          () => (readdirSync(dir).some((f) => f.endsWith('.md')) ? true : undefined),
          5000,
          'the ticket',
        )
        return report!
      } finally {
        await h.faultline.close()
      }
    }

    it('should render the local Markdown ticket with no link, image, tag or emphasis from the input, every input shown as text', async function () {
      this.timeout(30_000)
      const dir = join(base, 'local')
      const report = await fileHostileTicket(dir)
      const md = readFileSync(
        join(
          dir,
          readdirSync(dir).find((f) => f.endsWith('.md'))!,
        ),
        'utf8',
      )
      const [rendered] = renderMarkup([{ format: 'gfm', text: md }])
      const unexpected = rendered!.elements.filter((e) => !LAYOUT.has(e))
      expect(unexpected, rendered!.html).to.deep.equal([])
      expect(
        rendered!.elements.filter((e) => e === 'strong'),
        'only the status is bold',
      ).to.have.length(1)
      expect(rendered!.elements.filter((e) => e === 'h1')).to.have.length(1)
      for (const text of [...MARKUP, ...MULTILINE.split('\n')])
        expect(rendered!.text, text).to.contain(text)
      expect(rendered!.html).to.not.match(/<a |<img|<script/i)
      expect(report.message).to.contain('[fp:0123456789abcdef]')
      // the title says what the message said, but cannot pass for a Redmine marker
      const title = /<h1>([\s\S]*?)<\/h1>/.exec(rendered!.html)![1]!
      expect(title).to.contain('failed for')
      expect(title).to.not.contain('[fp:')
    })

    it('should make the Redmine description and notes plain text under both Textile and CommonMark', function () {
      this.timeout(30_000)
      const report = {
        id: 'AAAA-BBBB-CCCC',
        kind: 'traceback',
        level: 'error',
        status: 500,
        message: `Error: ${MARKUP.join(' ')}`,
        fingerprint: 'f'.repeat(16),
        time: '2026-01-01T00:00:00.000Z',
        app: 'shop',
        host: 'web-1',
        pid: 1,
        request: {
          method: 'GET',
          url: `/t?q=${MARKUP.join('')}`,
          headers: { 'user-agent': MARKUP.join(' '), 'x-note': MULTILINE },
          userAgent: MARKUP.join(' '),
          referer: MARKUP[2],
          xhr: false,
        },
        logs: [{ level: 'error', message: `${MARKUP.join(' ')}\n${MULTILINE}` }],
        error: {
          name: 'Error',
          message: MARKUP.join(' '),
          stack: `Error: ${MARKUP.join(' ')}\n${MULTILINE}\n    at f (/app/x.js:1:1)`,
        },
      } as unknown as Report
      const texts = [
        ticketBody(report),
        occurrencesComment(
          3,
          report.time,
          [{ id: 'X', time: report.time, url: `/t?${MARKUP.join('')}\n${MULTILINE}` }],
          report.time,
        ),
      ]
      const items = texts.flatMap((text) =>
        (['textile', 'common_mark'] as const).map((format) => ({
          format,
          text: toRedmineText(text),
          plain: text,
        })),
      )
      const rendered = renderMarkup(items.map(({ format, text }) => ({ format, text })))
      rendered.forEach((r, i) => {
        expect(r.elements, `${items[i]!.format}: ${r.html}`).to.deep.equal(['pre'])
        expect(strip(r.text).trim(), items[i]!.format).to.equal(items[i]!.plain.trim())
      })
    })
  })

  describe('Redmine fingerprints', () => {
    interface Seen {
      method: string
      url: string
      body: Record<string, Record<string, unknown>> | undefined
    }
    /** A stand-in for Redmine's REST API on loopback: answers searches with the given issues, records every call. */
    async function fakeRedmine(issues: Array<Record<string, unknown>>) {
      const seen: Seen[] = []
      const app = express()
      app.use(express.json())
      app.get('/issues.json', (req, res) => {
        seen.push({ method: 'GET', url: req.url, body: undefined })
        res.json({ issues, total_count: issues.length })
      })
      app.get('/issue_statuses.json', (_req, res) => {
        res.json({
          issue_statuses: [
            { id: 1, name: 'New', is_closed: false },
            { id: 5, name: 'Closed', is_closed: true },
          ],
        })
      })
      app.post('/issues.json', (req, res) => {
        seen.push({ method: 'POST', url: req.url, body: req.body as Seen['body'] })
        res.status(201).json({
          issue: {
            id: 99,
            subject: String((req.body as { issue: { subject: string } }).issue.subject),
            status: { id: 1, name: 'New', is_closed: false },
          },
        })
      })
      app.put('/issues/:id.json', (req, res) => {
        seen.push({ method: 'PUT', url: req.url, body: req.body as Seen['body'] })
        res.status(204).end()
      })
      const server = await listen(app)
      return {
        seen,
        server,
        adapter: (fingerprintField?: number) =>
          new RedmineAdapter({
            baseUrl: server.url,
            apiKey: 'k',
            project: 'shop',
            ...(fingerprintField ? { fingerprintField } : {}),
          }),
      }
    }

    const mine = 'b'.repeat(16)
    const forgedSubjects = [
      `[fp:${'a'.repeat(16)}] Error: a message that quotes [fp:${mine}]`,
      `Error: [fp:${mine}] typed into a form`,
      `[fp:${mine}x] longer fingerprint`,
      `[FP:${mine}] other case`,
      `x[fp:${mine}]`,
    ]

    it("should never take over another issue whose subject only quotes the fingerprint's marker", async () => {
      for (const subject of forgedSubjects) {
        const fake = await fakeRedmine([
          { id: 1, subject, status: { id: 1, name: 'New', is_closed: false } },
          {
            id: 7,
            subject: `[fp:${mine}] Error: the real one`,
            status: { id: 1, name: 'New', is_closed: false },
          },
        ])
        try {
          expect((await fake.adapter().find(mine))?.id, subject).to.equal('7')
        } finally {
          await fake.server.close()
        }
        const alone = await fakeRedmine([
          { id: 1, subject, status: { id: 1, name: 'New', is_closed: false } },
        ])
        try {
          expect(await alone.adapter().find(mine), subject).to.equal(undefined)
        } finally {
          await alone.server.close()
        }
      }
    })

    it('should compare the custom field exactly, whatever the search returns', async () => {
      const field = 3
      const issue = (id: number, value: unknown) => ({
        id,
        subject: 'x',
        status: { id: 1, name: 'New', is_closed: false },
        custom_fields: [{ id: field, name: 'Fingerprint', value }],
      })
      const fake = await fakeRedmine([
        issue(1, `${mine}x`),
        issue(2, mine.toUpperCase()),
        issue(3, ` ${mine}`),
        issue(4, [mine]),
        issue(9, mine),
      ])
      try {
        expect((await fake.adapter(field).find(mine))?.id).to.equal('9')
      } finally {
        await fake.server.close()
      }
    })

    it('should file a subject whose title cannot carry a second marker, and send the description and notes as plain text', async () => {
      const fake = await fakeRedmine([])
      try {
        const adapter = fake.adapter()
        for (const title of [
          `Error: x [fp:${mine}]`,
          `Error: [ fp : ${mine}]`,
          `Error: [FP:${mine}]`,
        ]) {
          await adapter.create({
            fingerprint: 'c'.repeat(16),
            title,
            body: `body ${MARKUP_SAMPLE}`,
            report: {} as Report,
          })
        }
        await adapter.comment({ id: '99', closed: false }, `note ${MARKUP_SAMPLE}`)
        const posts = fake.seen.filter((s) => s.method === 'POST')
        for (const post of posts) {
          const subject = String(post.body!.issue!.subject)
          expect(subject.startsWith(`[fp:${'c'.repeat(16)}] `)).to.equal(true)
          expect(subject.slice(1).match(/\[\s*fp\s*:/gi), subject).to.equal(null)
          expect(post.body!.issue!.description).to.equal(toRedmineText(`body ${MARKUP_SAMPLE}`))
        }
        expect(fake.seen.find((s) => s.method === 'PUT')!.body!.issue!.notes).to.equal(
          toRedmineText(`note ${MARKUP_SAMPLE}`),
        )
      } finally {
        await fake.server.close()
      }
    })
  })
})
