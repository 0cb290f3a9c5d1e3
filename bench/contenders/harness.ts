/**
 * What every contender shares: the same five routes, the same listener on
 * 127.0.0.1, and the same stop protocol. A contender only says how it logs.
 *
 * Stop protocol: the runner sends `{ type: 'stop' }` over IPC (or the process
 * gets SIGTERM). The server stops accepting, measures how many bytes its
 * logging has already put where it goes, closes its logging (timed), measures
 * again — the difference is what was still unwritten when the load stopped —
 * then gathers its evidence and answers `{ type: 'evidence', … }` over IPC (or
 * one JSON line on stdout) and exits.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type Response,
} from 'express'

// tsx turns source maps on, which makes every `err.stack` several times dearer
// (each frame is mapped). A production app runs compiled JavaScript without
// --enable-source-maps, so the bench measures error paths that way.
process.setSourceMapsEnabled(false)

export { ROUTES, type Route, type Evidence } from '../lib/routes.js'
import type { Evidence } from '../lib/routes.js'

/** How one contender logs. */
export interface Contender {
  name: string
  /** Middleware in front of the routes. */
  before?(app: Express): void
  /** The hand-written error: log an error the contender's way, then answer 500. */
  hand(req: Request, res: Response): void
  /** Middleware after the routes (error handlers). */
  after?(app: Express): void
  /** Bytes the contender's logging has put where it goes so far (file sizes, sink bytes). */
  writtenBytes(): number
  /** Flushes and closes the contender's logging. */
  close(): Promise<void>
  /** What the contender recorded, read once everything is closed. */
  counts(): Promise<{ counts: Record<string, number>; ids?: string[] }>
}

/** The work directory: argv[2], else $BENCH_DIR, else a fresh folder under the OS temp dir. */
export function workDir(name: string): string {
  const dir = resolve(
    process.argv[2] ?? process.env.BENCH_DIR ?? `/tmp/faultline-bench/${name}-${process.pid}`,
  )
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Size of a file, 0 if it is not there yet. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** Total size of the files in a folder (an outbox), 0 if it is not there. */
export function dirSize(dir: string): number {
  let total = 0
  try {
    for (const name of readdirSync(dir)) total += fileSize(`${dir}/${name}`)
  } catch {
    return 0
  }
  return total
}

/** The error answer every non-faultline contender uses after its own error logger: without it Express's final handler would also print each stack to stderr. */
export const plainErrorHandler: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  const status = (err as { status?: unknown })?.status
  res
    .status(typeof status === 'number' && status >= 400 ? status : 500)
    .type('text/plain')
    .send('Internal Server Error')
}

/** Fails on the next turn, like a real awaited call that rejects. */
async function failLater(): Promise<never> {
  await new Promise((resolve) => setImmediate(resolve))
  throw new Error('async boom: the order service did not answer')
}

function buildApp(contender: Contender): Express {
  const app = express()
  contender.before?.(app)
  app.get('/ok', (_req, res) => {
    res.type('text/plain').send('ok')
  })
  app.get('/boom', () => {
    throw new Error('boom: cannot read the cart')
  })
  app.get('/async-boom', async () => {
    await failLater()
  })
  app.get('/hand', (req, res) => contender.hand(req, res))
  contender.after?.(app)
  return app
}

/** Starts the contender's server; resolves once it listens, having printed its port. */
export async function serve(contender: Contender): Promise<void> {
  const app = buildApp(contender)
  const requests: Record<string, number> = {}
  const server: Server = await new Promise((done) => {
    const s = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => done(s))
  })
  // counted on the server, after the app's own listener, so every contender pays the same for it
  let inFlight = 0
  const settled = () => inFlight--
  server.on(
    'request',
    (req: { url?: string }, res: { once(event: 'close', listener: () => void): void }) => {
      const path = (req.url ?? '').split('?')[0] ?? ''
      requests[path] = (requests[path] ?? 0) + 1
      inFlight++
      res.once('close', settled)
    },
  )
  const port = (server.address() as AddressInfo).port
  process.stdout.write(`listening ${port}\n`)
  process.send?.({ type: 'listening', port, pid: process.pid })

  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    server.close()
    // requests still in flight when the load stopped finish first (bounded), so their records count and none lands after the close
    const deadline = Date.now() + 3000
    while (inFlight > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5))
    server.closeAllConnections()
    const atStop = contender.writtenBytes()
    const started = performance.now()
    await contender.close()
    const closeMs = performance.now() - started
    const unwrittenBytes = contender.writtenBytes() - atStop
    const { counts, ids } = await contender.counts()
    const evidence: Evidence = {
      contender: contender.name,
      requests,
      unwrittenBytes,
      closeMs,
      counts,
      ...(ids ? { ids } : {}),
    }
    if (process.send && process.connected) {
      process.send({ type: 'evidence', evidence }, () => process.exit(0))
    } else {
      process.stdout.write(`${JSON.stringify(evidence)}\n`, () => process.exit(0))
    }
  }
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') void stop()
  })
  process.on('SIGTERM', () => void stop())
  // the runner is gone: nobody will ask for evidence, so don't linger
  process.on('disconnect', () => void stop())
}
