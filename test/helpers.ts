import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type Express } from 'express'
import request from 'supertest'
import TransportStream from 'winston-transport'
import {
  createFaultline,
  type Faultline,
  type FaultlineOptions,
  type Notice,
  type Report,
} from '../lib/index.js'

/** A winston transport that keeps every record it is handed, for assertions. */
export class MemoryTransport extends TransportStream {
  readonly records: Array<Record<string, unknown>> = []

  constructor(options: TransportStream.TransportStreamOptions = {}) {
    super({ level: 'debug', ...options })
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    this.records.push(info)
    setImmediate(() => this.emit('logged', info))
    callback()
  }
}

/** A faultline instance for a test: production behaviour, nothing on stderr, every record captured. */
export interface Harness {
  faultline: Faultline
  reports: Report[]
  records: Array<Record<string, unknown>>
  /** Waits until `count` reports arrived (reports go out when the response closes, just after the client has it). */
  waitForReports(count: number, timeoutMs?: number): Promise<Report[]>
  /** Waits until a logged record matches. */
  waitForRecord(
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>
  /** faultline's own notices as stderr would show them ("faultline: …\n"), kept off the terminal (`FAULTLINE_TEST_NOTICES=show` prints them too). */
  readonly notices: string[]
  /** The same notices as the `notices` option hands them over: code, message, text. */
  readonly noticeRecords: Notice[]
}

export function createHarness(options: FaultlineOptions = {}): Harness {
  const memory = new MemoryTransport()
  const noticeRecords: Notice[] = []
  const notices: string[] = []
  const faultline = createFaultline({
    notices: (notice) => {
      noticeRecords.push(notice)
      notices.push(`${notice.text}\n`)
      if (process.env.FAULTLINE_TEST_NOTICES === 'show') process.stderr.write(`${notice.text}\n`)
    },
    appName: 'test-app',
    env: false,
    debug: false,
    throwErrors: false,
    stderr: false,
    warningLimit: false,
    spoolDir: false,
    ...options,
    transports: [memory, ...(options.transports ?? [])],
  })
  const reports: Report[] = []
  faultline.on('report', (report) => reports.push(report))
  return {
    notices,
    noticeRecords,
    faultline,
    reports,
    records: memory.records,
    waitForReports: (count, timeoutMs = 10_000) =>
      waitUntil(
        () => (reports.length >= count ? reports : undefined),
        timeoutMs,
        `${count} reports (have ${reports.length})`,
      ),
    waitForRecord: (match, timeoutMs = 10_000) =>
      waitUntil(() => memory.records.find(match), timeoutMs, 'a matching log record'),
  }
}

/** Polls until `probe` returns something, or fails with what it was waiting for. */
export async function waitUntil<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Gives the test a window in which nothing more should arrive, to prove that something was reported only once. */
export async function settle(): Promise<void> {
  await sleep(60)
}

/** An Express app with faultline's request handler first; the test adds routes and then `finish(app)`. */
export function createApp(faultline: Faultline): Express {
  const app = express()
  app.use(faultline.requestHandler())
  return app
}

/** Listens on an ephemeral loopback port; returns the base URL and a close function. */
export async function listen(
  app: Express,
): Promise<{ url: string; port: number; server: Server; close: () => Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Captures what is written to process.stderr while `body` runs. */
export async function captureStderr(body: () => Promise<void> | void): Promise<string> {
  let written = ''
  const original = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += String(chunk)
    return true
  }) as typeof process.stderr.write
  try {
    await body()
  } finally {
    process.stderr.write = original
  }
  return written
}

/**
 * Logs "payment p-1 captured" with req.log.info in a request to an app of `faultline`'s, waits for
 * `transport` to hold it, and closes faultline.
 */
export async function logPaymentThroughRequest(
  faultline: Faultline,
  transport: MemoryTransport,
): Promise<void> {
  const app = createApp(faultline)
  app.get('/paid', (req, res) => {
    req.log.info('payment p-1 captured')
    res.send('ok')
  })
  await request(app).get('/paid').expect(200)
  await waitUntil(() => transport.records[0], 10_000, 'the info line')
  await faultline.close()
}
