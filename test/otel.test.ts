import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  trace,
  type SpanContext,
} from '@opentelemetry/api'
import { expect } from 'chai'
import type { Express } from 'express'
import { simpleParser } from 'mailparser'
import request from 'supertest'
import { formatLine } from '../lib/report/format-line.js'
import { loadOpenTelemetry, readActiveTrace, readTraceFields } from '../lib/report/trace.js'
import type { Report } from '../lib/index.js'
import { formatSyslogLine } from '../transports/syslog/format.js'
import { createApp, createHarness, waitUntil, type Harness } from './helpers.js'
import { runScript } from './support/processes.js'
import { tracingForSuite } from './support/tracing.js'

const tracer = () => trace.getTracer('faultline-test')

/** Express middleware that starts a span per request, as an app's own tracing might, after faultline's first middleware. */
function spanPerRequest(app: Express): void {
  app.use((req, res, next) =>
    tracer().startActiveSpan(`${req.method} ${req.path}`, (span) => {
      res.on('finish', () => span.end())
      next()
    }),
  )
}

/** An HTTP handler that runs the whole app inside a span, as OpenTelemetry's http instrumentation does. */
function insideSpan(app: Express, seen: SpanContext[]) {
  return (req: IncomingMessage, res: ServerResponse) =>
    tracer().startActiveSpan('GET', (span) => {
      seen.push(span.spanContext())
      res.on('close', () => span.end())
      app(req, res)
    })
}

function readFiles(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith(suffix))
      .map((name) => readFileSync(join(dir, name), 'utf8'))
  } catch {
    return []
  }
}

function listenUdp(): Promise<{ socket: Socket; port: number; lines: string[] }> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const lines: string[] = []
    socket.on('message', (message) => lines.push(message.toString('utf8')))
    socket.bind(0, '127.0.0.1', () => resolve({ socket, port: socket.address().port, lines }))
  })
}

describe('trace correlation with OpenTelemetry', () => {
  const exporter = tracingForSuite()
  let h: Harness | undefined
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-otel-'))
  })
  afterEach(async () => {
    await h?.faultline.close()
    h = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it("should put the request span's trace on the report and on every sink: event, file line, stderr line, mail, syslog, tickets", async () => {
    const udp = await listenUdp()
    try {
      h = createHarness({
        file: join(dir, 'errors.log'),
        mail: { outbox: join(dir, 'outbox'), to: ['dev@example.org'] },
        syslog: `udp://127.0.0.1:${udp.port}`,
        tickets: `local:${join(dir, 'tickets')}`,
      })
      const app = createApp(h.faultline)
      spanPerRequest(app)
      app.get('/orders/:id', () => {
        throw new Error('stock count went negative')
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/orders/7').expect(500)

      const [report] = await h.waitForReports(1)
      const [span] = await waitUntil(
        () => (exporter.getFinishedSpans().length ? exporter.getFinishedSpans() : undefined),
        10_000,
        'the request span',
      )
      const { traceId, spanId } = span!.spanContext()
      expect(report).to.include({ trace_id: traceId, span_id: spanId, trace_flags: '01' })

      const line = await waitUntil(
        () =>
          readFiles(dir, '.log')[0]
            ?.split('\n')
            .find((l) => l.includes(report!.id)),
        10_000,
        'the file line',
      )
      expect(JSON.parse(line)).to.include({
        trace_id: traceId,
        span_id: spanId,
        trace_flags: '01',
      })

      expect(formatLine(report as unknown as Record<string, unknown>)).to.contain(
        `[${report!.id}] Error: stock count went negative trace_id=${traceId} span_id=${spanId} fp=${report!.fingerprint}\n`,
      )

      const [eml] = await waitUntil(
        () => {
          const mails = readFiles(join(dir, 'outbox'), '.eml')
          return mails.length ? mails : undefined
        },
        10_000,
        'the mail',
      )
      const mail = await simpleParser(eml!)
      expect(mail.text).to.match(
        new RegExp(`^Trace: +${traceId} \\(span ${spanId}, flags 01\\)$`, 'm'),
      )
      expect(mail.html).to.contain(
        `<th align="left" valign="top">Trace</th><td>${traceId} (span ${spanId}, flags 01)</td>`,
      )

      const datagram = await waitUntil(
        () => udp.lines.find((l) => l.includes(report!.id)),
        10_000,
        'the syslog datagram',
      )
      expect(datagram).to.match(
        new RegExp(
          `\\[faultline@32473 id="${report!.id}" [^\\]]* trace_id="${traceId}" span_id="${spanId}" trace_flags="01"\\] `,
        ),
      )

      const tickets = join(dir, 'tickets')
      const [ticket] = await waitUntil(
        () => {
          const found = readFiles(tickets, '.json')
          return found.length ? found : undefined
        },
        10_000,
        'the local ticket',
      )
      const traceLine = `Trace: ${traceId} (span ${spanId}, flags 01)`
      expect((JSON.parse(ticket!) as { body: string }).body).to.contain(traceLine)
      await waitUntil(
        () => readFiles(tickets, '.md').find((md) => md.includes(traceLine)),
        10_000,
        'the Markdown ticket with the trace line',
      )
    } finally {
      udp.socket.close()
    }
  })

  it('should carry the span the request ran in when the response closes outside its context', async () => {
    h = createHarness()
    const app = createApp(h.faultline)
    let activeAtClose: SpanContext | undefined
    app.get('/stock', (_req, res) => {
      res.on('close', () => (activeAtClose = trace.getSpanContext(context.active())))
      // a library that loses the async context (a pool's callback) answering for the handler
      context.with(ROOT_CONTEXT, () => res.status(503).end())
    })
    const spans: SpanContext[] = []
    await request(insideSpan(app, spans)).get('/stock').expect(503)
    const [report] = await h.waitForReports(1)
    expect(report!.kind).to.equal('error')
    expect(activeAtClose).to.equal(undefined)
    expect(report).to.include({ trace_id: spans[0]!.traceId, span_id: spans[0]!.spanId })
  })

  it('should give each of two concurrent requests its own trace', async () => {
    h = createHarness()
    const app = createApp(h.faultline)
    spanPerRequest(app)
    app.get('/slow/:n', async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      throw new Error(`failed ${req.params.n}`)
    })
    app.use(h.faultline.errorHandler())
    await Promise.all([request(app).get('/slow/1'), request(app).get('/slow/2')])
    const reports = await h.waitForReports(2)
    await waitUntil(
      () => (exporter.getFinishedSpans().length === 2 ? true : undefined),
      10_000,
      'both spans',
    )
    const spanOf = (path: string) =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === `GET ${path}`)!
        .spanContext()
    for (const n of ['1', '2']) {
      const report = reports.find((r) => r.message === `Error: failed ${n}`)!
      expect(report).to.include({
        trace_id: spanOf(`/slow/${n}`).traceId,
        span_id: spanOf(`/slow/${n}`).spanId,
      })
    }
    expect(reports[0]!.trace_id).not.to.equal(reports[1]!.trace_id)
  })

  it("should give a storm's compact repeat the trace of its own request", async () => {
    h = createHarness()
    const app = createApp(h.faultline)
    spanPerRequest(app)
    app.get('/pay', () => {
      throw new Error('card processor down')
    })
    app.use(h.faultline.errorHandler())
    await request(app).get('/pay').expect(500)
    await request(app).get('/pay').expect(500)
    const [full, repeat] = await h.waitForReports(2)
    const spans = await waitUntil(
      () => (exporter.getFinishedSpans().length === 2 ? exporter.getFinishedSpans() : undefined),
      10_000,
      'both spans',
    )
    expect(repeat!.repeatOf).to.equal(full!.id)
    expect(full!.span_id).to.equal(spans[0]!.spanContext().spanId)
    expect(repeat).to.include({
      trace_id: spans[1]!.spanContext().traceId,
      span_id: spans[1]!.spanContext().spanId,
      trace_flags: '01',
    })
  })

  it('should carry the span active when capture() is called outside a request', async () => {
    h = createHarness()
    const id = tracer().startActiveSpan('nightly job', (span) => {
      const captured = h!.faultline.capture(new Error('export failed'))
      span.end()
      return captured
    })
    const [report] = await h.waitForReports(1)
    const [span] = exporter.getFinishedSpans()
    expect(report!.id).to.equal(id)
    expect(report!.trace_id).to.equal(span!.spanContext().traceId)
  })

  it('should leave the trace fields out when no span is active, or its context is not valid', async () => {
    h = createHarness()
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new Error('no trace here')
    })
    app.use(h.faultline.errorHandler())
    await request(app).get('/boom').expect(500)
    const invalid = (req: IncomingMessage, res: ServerResponse) =>
      context.with(trace.setSpanContext(context.active(), INVALID_SPAN_CONTEXT), () =>
        app(req, res),
      )
    await request(invalid).get('/boom').expect(500)
    const reports = await h.waitForReports(2)
    for (const report of reports) {
      expect(report).not.to.have.any.keys('trace_id', 'span_id', 'trace_flags')
      const line = formatSyslogLine(
        { ...report },
        {
          format: 'rfc5424',
          facility: 16,
          hostname: 'web-1',
          appName: 'shop',
          procid: '1',
          sdId: 'faultline@32473',
        },
      )
      expect(line).not.to.contain('trace_id')
      expect(formatLine(report as unknown as Record<string, unknown>)).not.to.contain('trace_id')
    }
  })

  it('should show a record’s trace fields only when each has the shape of its hex', () => {
    const valid = {
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      trace_flags: '01',
    }
    expect(readTraceFields(valid)).to.deep.equal(valid)
    for (const forged of [
      { ...valid, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736" x="1' },
      { ...valid, span_id: '00f067aa0ba902b7]' },
      { ...valid, trace_flags: 1 },
      { ...valid, trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736' },
    ])
      expect(readTraceFields(forged)).to.equal(undefined)
    const report = { kind: 'warning', id: 'X', fingerprint: 'f', message: 'm', ...valid }
    const forgedLine = formatSyslogLine(
      { level: 'warn', ...report, span_id: '"] [evil@1 x="y' },
      {
        format: 'rfc5424',
        facility: 16,
        hostname: 'h',
        appName: 'a',
        procid: '1',
        sdId: 'faultline@32473',
      },
    )
    expect(forgedLine).not.to.contain('evil')
    expect(forgedLine).not.to.contain('trace_id')
  })

  it('should find no trace when @opentelemetry/api cannot be resolved, even inside a span', () => {
    const nowhere = createRequire(join(tmpdir(), 'faultline-no-such-dir', 'index.js'))
    const api = loadOpenTelemetry(nowhere)
    expect(api).to.equal(undefined)
    tracer().startActiveSpan('work', (span) => {
      expect(readActiveTrace(api)).to.equal(undefined)
      expect(readActiveTrace(loadOpenTelemetry())).to.include({
        trace_id: span.spanContext().traceId,
      })
      span.end()
    })
  })

  it('should start and report without @opentelemetry/api installed', async function () {
    this.timeout(30_000)
    const { stdout } = await runScript('no-otel-child.ts')
    const result = JSON.parse(stdout.trim()) as {
      loaded: boolean
      status: number
      reports: Report[]
    }
    expect(result.loaded).to.equal(false)
    expect(result.status).to.equal(500)
    expect(result.reports.map((r) => r.message)).to.deep.equal(['Error: stock count went negative'])
    expect(result.reports[0]).not.to.have.any.keys('trace_id', 'span_id', 'trace_flags')
  })
})
