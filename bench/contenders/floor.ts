/**
 * Not a product: the least an error reporter can do and still meet the
 * bench's evidence. A request scope (AsyncLocalStorage), a `close` watch, a
 * random incident id in a header and the page, and at close one JSON line
 * per error or warning (id, time, kind, method, URL, status, message)
 * written to a file at most once per 10 ms. No scrubbing, no fingerprint, no
 * store, no mail, no stderr. What it costs against bare-noop bounds what any
 * reporter recording every occurrence can reach on this machine.
 *
 * BENCH_FLOOR_SKIP (comma-separated: `scope`, `id`, `line`) leaves parts out,
 * to see what each costs.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { openSync, writeSync, closeSync } from 'node:fs'
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express'
import { countLines } from './count.js'
import { fileSize, serve, workDir } from './harness.js'

const skip = new Set((process.env.BENCH_FLOOR_SKIP ?? '').split(','))
const file = `${workDir('floor')}/errors.log`
const fd = openSync(file, 'a')
const scope = new AsyncLocalStorage<{ error?: unknown; id?: string }>()
let batch = ''
let timer: NodeJS.Timeout | undefined

function flush(): void {
  timer = undefined
  if (batch) writeSync(fd, batch)
  batch = ''
}

function line(req: Request, res: Response, state: { error?: unknown; id?: string }): void {
  if (res.statusCode < 400 || skip.has('line')) return
  const message = state.error instanceof Error ? state.error.message : `${res.statusCode}`
  batch += `${JSON.stringify({
    id: state.id ?? randomBytes(8).toString('hex'),
    time: new Date().toISOString(),
    kind: state.error ? 'traceback' : res.statusCode >= 500 ? 'error' : 'warning',
    method: req.method,
    url: req.originalUrl,
    status: res.statusCode,
    message,
  })}\n`
  timer ??= setTimeout(flush, 10)
}

const errorPage: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  const state = scope.getStore()
  const id = skip.has('id') ? '0' : randomBytes(8).toString('hex')
  if (state) {
    state.error = err
    state.id = id
  }
  res.status(500).setHeader('X-Incident-Id', id)
  res.type('text/plain').send(`Internal Server Error\nIncident: ${id}\n`)
}

await serve({
  name: 'floor',
  before(app) {
    app.use((req: Request, res: Response, next: NextFunction) => {
      const state = {}
      res.once('close', () => line(req, res, state))
      if (skip.has('scope')) next()
      else scope.run(state, next)
    })
  },
  hand(_req, res) {
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    app.use(errorPage)
  },
  writtenBytes: () => fileSize(file),
  close: async () => {
    if (timer) clearTimeout(timer)
    flush()
    closeSync(fd)
  },
  async counts() {
    const lines = await countLines(file, {}, /"id":"([^"]+)"/)
    return { counts: { 'file.lines': lines.lines, 'file.distinctIds': lines.ids.size } }
  },
})
