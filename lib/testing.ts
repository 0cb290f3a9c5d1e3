/**
 * Test helpers: run a request through an app in-process, and see what would
 * have been mailed, syslogged or ticketed.
 * @module
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import TransportStream from 'winston-transport'
import type { Report } from './report/report.js'
import { THROW_ERRORS } from './middleware/throw-errors.js'

/**
 * A request for `inject`.
 *
 * @example
 * ```ts
 * const request: InjectRequest = { method: 'POST', url: '/orders', body: { sku: 'A1' }, throwErrors: false }
 * ```
 */
export interface InjectRequest {
  method?: string
  url: string
  headers?: Record<string, string>
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown
  /** Whether errors reach the test instead of an error page (the server-side throw-errors flag). Default true. */
  throwErrors?: boolean
  remoteAddress?: string
}

/**
 * What `inject` resolves to.
 *
 * @example
 * ```ts
 * const { status, headers, body }: InjectResponse = await inject(app, { url: '/' })
 * ```
 */
export interface InjectResponse {
  status: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

/**
 * An app as Express makes it: a function of request, response and a final callback.
 *
 * @example
 * ```ts
 * const app: InjectableApp = express()
 * ```
 */
export type InjectableApp = (
  req: IncomingMessage,
  res: ServerResponse,
  done: (err?: unknown) => void,
) => void

/** A socket that goes nowhere: what the response writes is read from the response itself. */
function createNullSocket(remoteAddress: string): Socket {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback()
    },
  }) as unknown as Socket & { remoteAddress: string; encrypted?: boolean }
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress })
  return socket
}

function toBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined
  if (typeof body === 'string') return Buffer.from(body)
  if (Buffer.isBuffer(body)) return body
  return Buffer.from(JSON.stringify(body))
}

/**
 * Runs one request through an app in-process, without a socket. Under
 * throw-errors (the default here), an error the app raises rejects the promise
 * with the very error object, so `instanceof` and custom fields work in the test.
 *
 * @example
 * ```ts
 * const res = await inject(app, { url: '/orders/1' })
 * expect(res.status).to.equal(200)
 * await inject(app, { url: '/boom' }).catch((err) => expect(err).to.be.instanceOf(OrderError))
 * ```
 */
export function inject(app: InjectableApp, request: InjectRequest): Promise<InjectResponse> {
  return new Promise((resolve, reject) => {
    const socket = createNullSocket(request.remoteAddress ?? '127.0.0.1')
    const req = new IncomingMessage(socket)
    const body = toBody(request.body)
    req.method = (request.method ?? 'GET').toUpperCase()
    req.url = request.url
    req.httpVersion = '1.1'
    req.httpVersionMajor = 1
    req.httpVersionMinor = 1
    req.headers = {
      host: 'localhost',
      ...Object.fromEntries(
        Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
      ),
    }
    if (body) {
      req.headers['content-length'] ??= String(body.length)
      if (typeof request.body === 'object' && !Buffer.isBuffer(request.body))
        req.headers['content-type'] ??= 'application/json'
      req.push(body)
    }
    req.push(null)
    if (request.throwErrors !== false)
      (req as IncomingMessage & { [THROW_ERRORS]?: boolean })[THROW_ERRORS] = true

    const res = new ServerResponse(req)
    res.assignSocket(socket)
    const chunks: Buffer[] = []
    const collect = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(
              chunk as string,
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            ),
      )
    }
    const write = res.write.bind(res) as (...args: unknown[]) => boolean
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse
    res.write = ((chunk: unknown, ...rest: unknown[]) => (
      collect(chunk, rest[0]),
      write(chunk, ...rest)
    )) as typeof res.write
    res.end = ((chunk?: unknown, ...rest: unknown[]) => (
      collect(chunk, rest[0]),
      end(chunk, ...rest)
    )) as typeof res.end
    let failed = false
    res.on('finish', () => {
      // a server would now close the response; with no server, the null socket's close does it
      socket.destroy()
      if (failed) return
      resolve({
        status: res.statusCode,
        headers: res.getHeaders(),
        body: req.method === 'HEAD' ? '' : Buffer.concat(chunks).toString('utf8'),
      })
    })
    app(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        failed = true
        reject(err)
        // the request still ends, as it would behind a server, so its report goes out
        if (!res.headersSent) res.statusCode = 500
        if (!res.writableEnded) res.end()
        return
      }
      if (!res.headersSent) {
        res.statusCode = 404
        res.end(`Cannot ${req.method} ${req.url}`)
      }
    })
  })
}

/**
 * Which destination a report would go to, by the transports' own rules.
 *
 * @example
 * ```ts
 * const where: Destination[] = getDestinations(report)
 * ```
 */
export type Destination = 'mail' | 'syslog' | 'tickets'

/**
 * Whether the mail, syslog and ticket transports would take a report: mail
 * takes errors and tracebacks, tickets only tracebacks, syslog every report.
 *
 * @example
 * ```ts
 * getDestinations({ kind: 'error' }) // ['mail', 'syslog']
 * ```
 */
export function getDestinations(report: Pick<Report, 'kind'>): Destination[] {
  if (report.kind === 'traceback') return ['mail', 'syslog', 'tickets']
  if (report.kind === 'error') return ['mail', 'syslog']
  return ['syslog']
}

/**
 * An in-memory outbox: a winston transport that records what would have been
 * mailed, syslogged or ticketed, for assertions in tests and in debug mode.
 *
 * @example
 * ```ts
 * const outbox = new Outbox()
 * const faultline = createFaultline({ transports: [outbox] })
 * // … run requests …
 * expect(outbox.mail).to.have.length(1)
 * ```
 */
export class Outbox extends TransportStream {
  readonly reports: Report[] = []
  readonly mail: Report[] = []
  readonly syslog: Report[] = []
  readonly tickets: Report[] = []

  constructor(options: TransportStream.TransportStreamOptions = {}) {
    super({ level: 'warn', ...options })
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    if (typeof info.kind === 'string' && typeof info.fingerprint === 'string') {
      const report = info as unknown as Report
      this.reports.push(report)
      for (const destination of getDestinations(report)) this[destination].push(report)
    }
    setImmediate(() => this.emit('logged', info))
    callback()
  }

  /** Empties the outbox. */
  clear(): void {
    for (const list of [this.reports, this.mail, this.syslog, this.tickets]) list.length = 0
  }
}
