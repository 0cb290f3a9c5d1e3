import { expect } from 'chai'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import request from 'supertest'
import { createApp, createHarness, waitUntil, type Harness } from './helpers.js'
import { getDeadPort } from './support/ports.js'
import { runScript, type ScriptResult } from './support/processes.js'
import {
  getTestCertificate,
  startSilentServer,
  startSmtpServer,
  type TestSmtpServer,
} from './support/smtp.js'

const MANAGERS = ['ops@example.org', 'lead@example.org']

function mailHarness(server: TestSmtpServer, mail: Record<string, unknown> = {}): Harness {
  return createHarness({
    managers: MANAGERS,
    mail: { url: server.url, tls: { ca: getTestCertificate().certFile }, ...mail },
  })
}

/** An error of its own kind, so each gets its own fingerprint. */
function errorOfKind(kind: string, message = 'storm'): Error {
  return Object.assign(new Error(message), { name: `${kind}Error` })
}

describe('mail to the managers', () => {
  let server: TestSmtpServer
  let h: Harness | undefined
  beforeEach(async () => {
    server = await startSmtpServer()
  })
  afterEach(async () => {
    await h?.faultline.close()
    h = undefined
    await server.close()
  })

  it('should mail a traceback over STARTTLS with AUTH: headers, both parts, threading, scrubbed, non-ASCII intact', async () => {
    h = mailHarness(server)
    const app = createApp(h.faultline)
    app.get('/orders/:id', () => {
      throw new Error('Bestellung über 3 € fehlgeschlagen — 注文 🚀', {
        cause: new Error('lager leer'),
      })
    })
    app.use(h.faultline.errorHandler())
    await request(app)
      .get('/orders/42?token=tok-secret-123456')
      .set('Cookie', 'sid=cookie-secret-abcdef')
      .set('Authorization', 'Bearer bearer-secret-xyz987')
      .expect(500)
    const [report] = await h.waitForReports(1)
    const [got] = await waitUntil(
      () => (server.received.length ? server.received : undefined),
      10_000,
      'a mail',
    )
    expect(got!.secure).to.equal(true)
    expect(got!.user).to.equal('faultline')
    expect(got!.envelope.to).to.deep.equal(MANAGERS)
    const mail = got!.mail
    expect(mail.subject).to.equal(
      `[test-app] Error: Bestellung über 3 € fehlgeschlagen — 注文 🚀 — GET /orders/:id (${report!.id})`,
    )
    expect(mail.messageId).to.equal(
      `<faultline.${report!.fingerprint}.${report!.id}@${report!.host.toLowerCase().replace(/[^a-z0-9.-]/g, '')}>`,
    )
    expect(mail.headers.get('auto-submitted')).to.equal('auto-generated')
    for (const part of [mail.text!, mail.html as string]) {
      expect(part).to.contain(report!.id)
      expect(part).to.contain(`pid ${process.pid}`)
      expect(part).to.contain('GET /orders/42?token=')
      expect(part).to.contain('Caused by: Error: lager leer')
      expect(part).to.contain('mail.test.ts')
    }
    expect(mail.text).to.contain('Bestellung über 3 € fehlgeschlagen — 注文 🚀')
    expect(mail.text).to.match(/^Source\n------\n/m)
    expect(mail.text).to.match(/^> +\d+ \| +throw new Error\('Bestellung/m)
    for (const secret of ['tok-secret-123456', 'cookie-secret-abcdef', 'bearer-secret-xyz987'])
      expect(got!.raw).not.to.contain(secret)
  })

  it("should thread a fingerprint's digest under its first mail", async () => {
    h = mailHarness(server, { digestWindowMs: 300 })
    h.faultline.capture(errorOfKind('Threaded'))
    h.faultline.capture(errorOfKind('Threaded'))
    h.faultline.capture(errorOfKind('Threaded'))
    const mails = await waitUntil(
      () => (server.received.length >= 2 ? server.received : undefined),
      10_000,
      'the first mail and its digest',
    )
    const [first, digest] = mails.map((m) => m.mail)
    expect(digest!.inReplyTo).to.equal(first!.messageId)
    expect(digest!.references).to.equal(first!.messageId)
    expect(digest!.subject).to.match(/^\[test-app\] 2 more: ThreadedError: storm \(/)
    expect(digest!.text).to.match(
      /^2 more occurrences of ThreadedError: storm between \S+ and \S+\./,
    )
    for (const report of h.reports.slice(1)) expect(digest!.text).to.contain(report.id)
  })

  it('should hold a storm to one mail and one digest per fingerprint, with the right counts', async function () {
    this.timeout(20_000)
    h = mailHarness(server, { digestWindowMs: 1500 })
    for (let i = 0; i < 1000; i++) h.faultline.capture(errorOfKind('Loud', `order ${i} failed`))
    for (let i = 0; i < 10; i++) h.faultline.capture(errorOfKind('Quiet', `order ${i} failed`))
    const mails = await waitUntil(
      () => (server.received.length >= 4 ? server.received : undefined),
      15_000,
      'four mails',
    )
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(server.received).to.have.length(4)
    const subjects = mails.map((m) => m.mail.subject!)
    expect(subjects.filter((s) => s.includes('LoudError') && !s.includes('more:'))).to.have.length(
      1,
    )
    expect(subjects.filter((s) => s.includes('QuietError') && !s.includes('more:'))).to.have.length(
      1,
    )
    expect(subjects.filter((s) => s.includes('999 more: LoudError'))).to.have.length(1)
    expect(subjects.filter((s) => s.includes('9 more: QuietError'))).to.have.length(1)
    const loud = mails.find((m) => m.mail.subject!.includes('999 more'))!.mail.text!
    expect(loud).to.contain('… and 949 more')
  })

  it('should keep to the ceiling and send one summary of what it held back', async function () {
    this.timeout(20_000)
    h = mailHarness(server, { ceiling: { max: 3, periodMs: 800 }, digestWindowMs: 60_000 })
    for (const kind of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'])
      h.faultline.capture(errorOfKind(kind))
    const mails = await waitUntil(
      () => (server.received.length >= 4 ? server.received : undefined),
      15_000,
      'three mails and a summary',
    )
    const subjects = mails.map((m) => m.mail.subject!)
    expect(subjects.slice(0, 3).every((s) => /\[test-app\] [ABC]Error: storm/.test(s))).to.equal(
      true,
    )
    expect(subjects[3]).to.equal(
      '[test-app] 5 error mails held back by the hourly ceiling (5 reports)',
    )
    for (const kind of ['D', 'E', 'F', 'G', 'H'])
      expect(mails[3]!.mail.text).to.contain(`${kind}Error: storm`)
  })

  it("should name each held-back mail's request in the summary, the route or else the path without its query", async function () {
    this.timeout(20_000)
    h = mailHarness(server, { ceiling: { max: 1, periodMs: 800 }, digestWindowMs: 60_000 })
    const app = createApp(h.faultline)
    app.get('/orders/:id', (req) => {
      throw errorOfKind(`Order${req.params.id}`, 'database timeout')
    })
    app.use(() => {
      throw errorOfKind('Unrouted', 'database timeout')
    })
    app.use(h.faultline.errorHandler())
    for (const id of ['1', '2']) await request(app).get(`/orders/${id}`).expect(500)
    await request(app).get('/nowhere/deep?token=secret').expect(500)
    const mails = await waitUntil(
      () => (server.received.length >= 2 ? server.received : undefined),
      15_000,
      'a mail and a summary',
    )
    const text = mails[1]!.mail.text!
    expect(text).to.contain('Order2Error: database timeout — GET /orders/:id')
    expect(text).to.contain('UnroutedError: database timeout — GET /nowhere/deep')
    expect(text).not.to.contain('token=secret')
  })

  it('should not let CRLF or Bcc: in a message or URL add headers or recipients', async () => {
    h = mailHarness(server)
    const app = createApp(h.faultline)
    app.get('/orders/:id', () => {
      throw new Error('boom\r\nBcc: attacker@evil.example\r\nX-Injected: 1\r\n\r\nforged body')
    })
    app.use(h.faultline.errorHandler())
    await request(app)
      .get('/orders/1%0d%0aBcc:%20attacker2@evil.example%0d%0aX-Injected:%202')
      .expect(500)
    const [got] = await waitUntil(
      () => (server.received.length ? server.received : undefined),
      10_000,
      'a mail',
    )
    expect(got!.envelope.to).to.deep.equal(MANAGERS)
    expect(got!.mail.bcc).to.equal(undefined)
    expect(got!.mail.headers.has('x-injected')).to.equal(false)
    expect(got!.mail.subject).not.to.match(/[\r\n]/)
    const headerBlock = got!.raw.split(/\r?\n\r?\n/)[0]!
    expect(headerBlock).not.to.match(/^Bcc:/im)
    expect(headerBlock).not.to.match(/^X-Injected:/im)
    expect(got!.mail.text).to.contain('Bcc: attacker@evil.example')
  })

  it('should answer as fast with the SMTP server down or silent as with mail off', async function () {
    this.timeout(60_000)
    const deadPort = await getDeadPort()
    const silent = await startSilentServer()
    const timeouts = { connectionMs: 400, greetingMs: 400, socketMs: 400 }
    const setups: Record<string, Harness> = {
      off: createHarness(),
      down: createHarness({
        managers: MANAGERS,
        mail: { url: `smtp://u:p@127.0.0.1:${deadPort}`, timeouts },
      }),
      silent: createHarness({
        managers: MANAGERS,
        mail: { url: `smtp://u:p@127.0.0.1:${silent.port}`, timeouts },
      }),
    }
    const elapsed: Record<string, number> = {}
    const original = process.stderr.write.bind(process.stderr)
    let stderr = ''
    process.stderr.write = ((chunk: string) => (
      (stderr += String(chunk)),
      true
    )) as typeof process.stderr.write
    try {
      for (const round of [1, 2]) {
        for (const [name, harness] of Object.entries(setups)) {
          const app = createApp(harness.faultline)
          app.get('/boom', () => {
            throw new Error(`boom in round ${round}`)
          })
          app.use(harness.faultline.errorHandler())
          const agent = request(app)
          const started = process.hrtime.bigint()
          for (let i = 0; i < 30; i++) await agent.get('/boom').expect(500)
          elapsed[name] = (elapsed[name] ?? 0) + Number(process.hrtime.bigint() - started) / 1e6
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1500))
    } finally {
      process.stderr.write = original
      await Promise.all(Object.values(setups).map((s) => s.faultline.close({ timeoutMs: 500 })))
      await silent.close()
    }
    stderr += Object.values(setups)
      .map((s) => s.notices.join(''))
      .join('')
    // the same 60 error pages, with and without a broken mail server behind them
    expect(elapsed.down! / elapsed.off!).to.be.below(2)
    expect(elapsed.silent! / elapsed.off!).to.be.below(2)
    expect(
      stderr.match(
        new RegExp(`mail to smtp://127\\.0\\.0\\.1:${deadPort} failed: nothing answers`, 'g'),
      ),
    ).to.have.length(1)
    expect(
      stderr.match(
        new RegExp(
          `mail to smtp://127\\.0\\.0\\.1:${silent.port} failed: .*did not answer in time`,
          'g',
        ),
      ),
    ).to.have.length(1)
  })

  it('should write .eml files to an outbox when there is no SMTP server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-outbox-'))
    try {
      h = createHarness({ managers: MANAGERS, mail: { outbox: join(dir, 'outbox') } })
      const id = h.faultline.capture(new Error('written to disk'))
      await waitUntil(
        () => (readdirSyncSafe(join(dir, 'outbox')).length ? true : undefined),
        10_000,
        'an .eml file',
      )
      const [file] = readdirSyncSafe(join(dir, 'outbox'))
      expect(file).to.match(/\.eml$/)
      const mail = await simpleParser(readFileSync(join(dir, 'outbox', file!)))
      expect(mail.subject).to.equal(`[test-app] Error: written to disk (${id})`)
      expect((mail.to as { text: string }).text).to.equal(MANAGERS.join(', '))
      expect(mail.text).to.contain(id)
    } finally {
      await h?.faultline.close()
      h = undefined
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe('faultline test-mail', () => {
    const cli = join(import.meta.dirname, '..', 'bin', 'faultline.ts')
    function testMail(url: string): Promise<ScriptResult> {
      const args = ['test-mail', '--to', 'ops@example.org', '--ca', getTestCertificate().certFile]
      return runScript(cli, args, {
        env: { ...process.env, FAULTLINE_MAIL: url },
        allowFailure: true,
      })
    }

    it('should send a test mail with the configured settings', async () => {
      const result = await testMail(server.url)
      expect(result.code).to.equal(0)
      expect(result.stdout).to.match(
        new RegExp(
          `^faultline test-mail: sent to ops@example.org through smtp://127\\.0\\.0\\.1:${server.port} \\(250`,
        ),
      )
      expect(server.received[0]!.mail.subject).to.match(/^\[faultline\] test mail from /)
    })

    it('should say the password is wrong when it is', async () => {
      const result = await testMail(`smtp://faultline:wrong@127.0.0.1:${server.port}`)
      expect(result.code).to.equal(1)
      expect(result.stderr).to.contain(`127.0.0.1:${server.port} refused the user name or password`)
      expect(result.stderr).to.contain('check the credentials')
    })

    it('should say nothing answers on a dead port', async () => {
      const port = await getDeadPort()
      const result = await testMail(`smtp://faultline:x@127.0.0.1:${port}`)
      expect(result.code).to.equal(1)
      expect(result.stderr).to.contain(
        `nothing answers at 127.0.0.1:${port} (connection refused): is the SMTP server running, and is the port right?`,
      )
    })
  })
})

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.eml'))
  } catch {
    return []
  }
}
