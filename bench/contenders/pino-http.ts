/**
 * pino-http with an asynchronous pino file destination (SonicBoom,
 * `sync: false`), levelled like the others: 2xx/3xx silent, 4xx warn, 5xx
 * error. The error answer sets `res.err`, as pino-http's README asks, so the
 * error line carries the thrown error.
 */
import { once } from 'node:events'
import type { ErrorRequestHandler } from 'express'
import pino from 'pino'
import { pinoHttp } from 'pino-http'
import { countLines } from './count.js'
import { fileSize, plainErrorHandler, serve, workDir } from './harness.js'

const dir = workDir('pino-http')
const file = `${dir}/app.log`
const destination = pino.destination({ dest: file, sync: false, mkdir: true })
const logger = pino({ level: 'info' }, destination)

const keepError: ErrorRequestHandler = (err, _req, res, next) => {
  ;(res as { err?: unknown }).err = err
  next(err)
}

await serve({
  name: 'pino-http',
  before(app) {
    app.use(
      pinoHttp({
        logger,
        customLogLevel: (_req, res, err) =>
          err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'silent',
      }),
    )
  },
  hand(req, res) {
    req.log.error('hand-written failure: payment gateway said %s', 'declined')
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    app.use(keepError)
    app.use(plainErrorHandler)
  },
  writtenBytes: () => fileSize(file),
  async close() {
    const closed = once(destination, 'close')
    destination.end()
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 30_000).unref())])
  },
  async counts() {
    const lines = await countLines(file, {
      warn: '"level":40',
      error: '"level":50',
      thrown: '"err":{',
      hand: 'hand-written failure',
    })
    return {
      counts: {
        'file.lines': lines.lines,
        'file.warn': lines.marked.warn!,
        'file.error': lines.marked.error!,
        'file.withErr': lines.marked.thrown!,
        'file.hand': lines.marked.hand!,
      },
    }
  },
})
