/**
 * express-winston as its README sets it up: `logger` for request lines (here
 * only 4xx, at warn — the other outcomes have their own line) and
 * `errorLogger` for thrown errors, both into one winston File transport. A
 * plain error answer follows, as an app would have.
 */
import { once } from 'node:events'
import expressWinston from 'express-winston'
import winston from 'winston'
import { countLines } from './count.js'
import { fileSize, plainErrorHandler, serve, workDir } from './harness.js'

const dir = workDir('express-winston')
const file = `${dir}/app.log`
const transport = new winston.transports.File({ filename: file })
const logger = winston.createLogger({
  level: 'warn',
  format: winston.format.combine(
    winston.format.timestamp(),
    winston.format.splat(),
    winston.format.json(),
  ),
  transports: [transport],
})

// winston's internals: the logger's readable buffer, the transport's queue, its PassThrough and the file stream
interface Buffered {
  readableLength?: number
  writableLength?: number
}
function pending(): number {
  const inner = transport as unknown as { _stream?: Buffered; _dest?: Buffered }
  const parts: Array<Buffered | undefined> = [
    logger as unknown as Buffered,
    transport as unknown as Buffered,
    inner._stream,
    inner._dest,
  ]
  return parts.reduce(
    (sum, part) => sum + (part?.readableLength ?? 0) + (part?.writableLength ?? 0),
    0,
  )
}

// without a listener a late write would take the process down; a lost line shows in the evidence instead
let errors = 0
logger.on('error', () => errors++)

await serve({
  name: 'express-winston',
  before(app) {
    app.use(
      expressWinston.logger({
        winstonInstance: logger,
        statusLevels: true,
        // 5xx already get the errorLogger's line or the route's own; 2xx/3xx are below the logger's level anyway
        skip: (_req, res) => res.statusCode < 400 || res.statusCode >= 500,
      }),
    )
  },
  hand(req, res) {
    logger.error('hand-written failure: payment gateway said %s', 'declined', {
      url: req.originalUrl,
      method: req.method,
    })
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    app.use(expressWinston.errorLogger({ winstonInstance: logger }))
    app.use(plainErrorHandler)
  },
  writtenBytes: () => fileSize(file),
  async close() {
    // ending winston's logger while it still holds a backlog ends the File transport under it ("write after end"):
    // wait, bounded, until the logger, the transport and the file stream have handed everything on
    const deadline = Date.now() + 30_000
    while (pending() > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5))
    const finished = once(transport, 'finish')
    logger.end()
    await Promise.race([
      finished,
      new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
    ])
  },
  async counts() {
    const lines = await countLines(file, {
      warn: '"level":"warn"',
      error: '"level":"error"',
      thrown: '"message":"middlewareError"',
      hand: 'hand-written failure',
    })
    return {
      counts: {
        'file.lines': lines.lines,
        'file.warn': lines.marked.warn!,
        'file.error': lines.marked.error!,
        'file.thrown': lines.marked.thrown!,
        'file.hand': lines.marked.hand!,
        errors,
      },
    }
  },
})
