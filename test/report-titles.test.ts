import { expect } from 'chai'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import request from 'supertest'
import { StderrTransport } from '../lib/index.js'
import { createApp, createHarness, listen, waitUntil, type Harness } from './helpers.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from './support/smtp.js'

/** How many times `needle` occurs in `text`. */
function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1
}

/** A syslog receiver on a loopback UDP port: every datagram is one line. */
async function startSyslogReceiver(): Promise<{ url: string; lines: string[]; close(): void }> {
  const socket: Socket = createSocket('udp4')
  const lines: string[] = []
  socket.on('message', (msg) => lines.push(msg.toString('utf8')))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    url: `udp://127.0.0.1:${socket.address().port}`,
    lines,
    close: () => socket.close(),
  }
}

describe('report titles name the request once', function () {
  let smtp: TestSmtpServer
  let syslog: Awaited<ReturnType<typeof startSyslogReceiver>>
  let ticketDir: string
  let stderr: string
  let h: Harness

  beforeEach(async function () {
    smtp = await startSmtpServer()
    syslog = await startSyslogReceiver()
    ticketDir = mkdtempSync(join(tmpdir(), 'faultline-titles-'))
    const stream = new PassThrough()
    stderr = ''
    stream.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    h = createHarness({
      managers: ['ops@example.org'],
      mail: { url: smtp.url, tls: { ca: getTestCertificate().certFile } },
      tickets: { url: `local:${ticketDir}`, digestWindowMs: 300, level: 'error' },
      syslog: syslog.url,
      transports: [new StderrTransport({ stream, level: 'info' })],
    })
  })

  afterEach(async function () {
    await h.faultline.close()
    await smtp.close()
    syslog.close()
    rmSync(ticketDir, { recursive: true, force: true })
  })

  /** Each sink's line for the report with this id: mail subject, ticket title, syslog and stderr lines, the view's title. */
  async function sinksOf(id: string, mailed: boolean) {
    const lineOf = (lines: () => string[], what: string) =>
      waitUntil(() => lines().find((l) => l.includes(id)), 10_000, `the ${what} line of ${id}`)
    const stderrLine = await lineOf(() => stderr.split('\n'), 'stderr')
    const syslogLine = await lineOf(() => syslog.lines, 'syslog')
    const issues = (await h.faultline.issues()).issues
    const report = h.reports.find((r) => r.id === id)!
    const title = issues.find((i) => i.fingerprint === report.fingerprint)!.title
    if (!mailed) return { stderrLine, syslogLine, title }
    const mail = await waitUntil(
      () => smtp.received.find((m) => (m.mail.subject ?? '').includes(id)),
      10_000,
      'the mail',
    )
    const ticket = await waitUntil(
      () => {
        const file = readdirSync(ticketDir).find((f) => f.endsWith('.json'))
        return file
          ? (JSON.parse(readFileSync(join(ticketDir, file), 'utf8')) as { title: string })
          : undefined
      },
      10_000,
      'the ticket',
    )
    return { stderrLine, syslogLine, title, subject: mail.mail.subject!, ticketTitle: ticket.title }
  }

  it('should name a 5xx without an exception once in the mail, ticket, syslog, stderr and the view', async function () {
    const app = createApp(h.faultline)
    // a middleware, not a route: the report names the URL as requested
    app.use('/x', (_req, res) => {
      res.status(503).send('busy')
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      await request(server.url).get('/x?t=1').expect(503)
      const [report] = await h.waitForReports(1)
      expect(report!.message).to.equal('503 Service Unavailable response with no exception')
      const sinks = await sinksOf(report!.id, true)
      expect(sinks.subject).to.equal(
        `[test-app] 503 Service Unavailable response with no exception — GET /x?t=1 (${report!.id})`,
      )
      expect(countOf(sinks.ticketTitle!, 'GET /x')).to.equal(1)
      expect(countOf(sinks.syslogLine, 'GET /x')).to.equal(1)
      expect(countOf(sinks.stderrLine, 'GET /x')).to.equal(1)
      expect(sinks.title).to.equal('503 Service Unavailable response with no exception — GET /x')
    } finally {
      await server.close()
    }
  })

  it('should name a routed 5xx once, and a warning or a probe once, in every line', async function () {
    const app = createApp(h.faultline)
    app.get('/orders/:id', (_req, res) => {
      res.status(502).send('upstream down')
    })
    app.use(h.faultline.notFound())
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      await request(server.url).get('/orders/7?t=2').expect(502)
      const [routed] = await h.waitForReports(1)
      const sinks = await sinksOf(routed!.id, true)
      expect(sinks.subject).to.equal(
        `[test-app] 502 Bad Gateway response with no exception — GET /orders/:id (${routed!.id})`,
      )
      expect(countOf(sinks.ticketTitle!, 'GET /orders')).to.equal(1)
      expect(countOf(sinks.stderrLine, 'GET /orders')).to.equal(1)
      expect(countOf(sinks.syslogLine, 'GET /orders')).to.equal(1)
      // the view's route column says where
      expect(sinks.title).to.equal('502 Bad Gateway response with no exception')
      await request(server.url).get('/missing?t=3').expect(404)
      await request(server.url).get('/wp-login.php').expect(404)
      const [, missing, probe] = await h.waitForReports(3)
      for (const [report, path] of [
        [missing!, '/missing'],
        [probe!, '/wp-login.php'],
      ] as const) {
        const lines = await sinksOf(report.id, false)
        expect(countOf(lines.stderrLine, `GET ${path}`), lines.stderrLine).to.equal(1)
        expect(countOf(lines.syslogLine, `GET ${path}`), lines.syslogLine).to.equal(1)
        // a warning no route matched is one issue for every path: its title names none
        expect(lines.title, lines.title).to.match(/ — GET <unmatched path>$/)
        expect(countOf(lines.title, ' — GET '), lines.title).to.equal(1)
      }
      expect(missing!.message).to.equal('404 Not Found')
      expect(probe!.message).to.equal('probe path: a file only scanners ask for')
    } finally {
      await server.close()
    }
  })
})
