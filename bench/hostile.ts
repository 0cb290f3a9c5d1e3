/**
 * Hostile input: what one report costs the event loop when the request or the
 * error is built to make scrubbing and fingerprinting slow. A real Express app
 * with faultline as the README sets it up; each case is sent a few times over
 * loopback and the worst synchronous time of faultline's outcome reporting
 * (`finalize`: classify, build, scrub, fingerprint, hand to the transports)
 * is printed, with the worst event-loop delay seen during the case.
 *
 *   node --import tsx bench/hostile.ts [--runs 5]
 */
import express from 'express'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { createFaultline } from '../lib/index.js'
import { RequestLifecycle } from '../lib/middleware/lifecycle.js'

interface Case {
  name: string
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
}

// tsx turns source maps on, which makes every `err.stack` several times dearer; a production build runs without
process.setSourceMapsEnabled(false)

const MB = 1024 * 1024
const jsonBody = (count: number, name: (i: number) => string, value: (i: number) => string) =>
  `{${Array.from({ length: count }, (_, i) => `${JSON.stringify(name(i))}:${JSON.stringify(value(i))}`).join(',')}}`

const CASES: Case[] = [
  { name: '1 MB message', path: '/throw/mega' },
  { name: 'message quoting 90 kB of "Bearer …" and URLs', path: '/throw/bearer' },
  { name: 'message quoting 90 kB that looks like stack frames', path: '/throw/frames' },
  { name: 'message quoting 90 kB of name=value pairs', path: '/throw/pairs' },
  {
    name: '10,000 body fields',
    method: 'POST',
    path: '/throw/plain',
    body: jsonBody(
      10_000,
      (i) => `field${i}`,
      (i) => `value-${i}`,
    ),
  },
  {
    name: '4,000 password-like fields, 404',
    method: 'POST',
    path: '/missing',
    body: jsonBody(
      4000,
      (i) => `password${i}`,
      (i) => `pw${i}x`,
    ),
  },
  {
    name: '4,000 password-like fields in 100 objects, 404',
    method: 'POST',
    path: '/missing',
    body: `[${Array.from({ length: 100 }, (_, j) =>
      jsonBody(
        40,
        (i) => `password${i}`,
        (i) => `p${j}w${i}`,
      ),
    ).join(',')}]`,
  },
  {
    name: '4,000 password-like fields quoted in the message',
    method: 'POST',
    path: '/throw/echo',
    body: jsonBody(
      4000,
      (i) => `password${i}`,
      (i) => `pw${i}x`,
    ),
  },
  { name: 'cause chain of 10,000', path: '/throw/deep' },
  { name: 'cyclic causes', path: '/throw/cyclic' },
  { name: 'AggregateError of 10,000 members', path: '/throw/aggregate' },
  {
    name: '60 kB URL, 3,000 secret query fields',
    path: `/throw/plain?${Array.from({ length: 3000 }, (_, i) => `token${i}=t${i}xy`).join('&')}`,
  },
  {
    name: '1 MB of headers (a 1 MB Referer)',
    path: '/throw/plain',
    headers: { referer: `https://shop.example/?${'a=b&'.repeat(MB / 4)}` },
  },
  {
    name: '1 MB of headers (500 headers of 2 kB)',
    path: '/throw/plain',
    headers: Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [`x-h${i}`, `Bearer ${'k'.repeat(2000)}`]),
    ),
  },
]

function throwing(kind: string, req: express.Request): never {
  const quoted = 90 * 1024
  // every request differs, as a hostile client's would: no cache answers for it
  const n = String(req.query.n ?? '')
  switch (kind) {
    case 'mega':
      throw new Error(`${n}${'x'.repeat(MB)}`)
    case 'bearer':
      throw new Error(`bad input ${n}: ${'Bearer bearer https://a:'.repeat(quoted / 24)}`)
    case 'frames':
      throw new Error(`bad input ${n}:\n    at ${'f (a:1:2) at ('.repeat(quoted / 14)}`)
    case 'pairs':
      throw new Error(`bad input ${n}: ${'password=x&token: "y", '.repeat(quoted / 24)}`)
    case 'echo':
      throw new Error(`bad input ${n}: ${JSON.stringify(req.body)}`)
    case 'deep': {
      let err = new Error(`root ${n}`)
      for (let i = 0; i < 10_000; i++) err = new Error(`level ${i}`, { cause: err })
      throw err
    }
    case 'cyclic': {
      const a = new Error('a')
      const b = new Error('b', { cause: a })
      ;(a as { cause?: unknown }).cause = b
      throw new Error('top', { cause: a })
    }
    case 'aggregate':
      throw new AggregateError(
        Array.from({ length: 10_000 }, (_, i) =>
          Object.assign(new Error(`member ${i}`), { password: `pw-${i}x` }),
        ),
        'many',
      )
    default:
      throw new Error(`plain failure ${n}`)
  }
}

function send(port: number, c: Case, n: number): Promise<number> {
  // letters, not digits: a message that differs only by a number is a repeat, recorded compactly
  const path = `${c.path}${c.path.includes('?') ? '&' : '?'}n=${'abcdefghijklmnopqrstuvwxyz'[n % 26]}${'abcdefghijklmnopqrstuvwxyz'[Math.floor(n / 26) % 26]}`
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: c.method ?? 'GET',
        path,
        headers: { ...(c.body ? { 'content-type': 'application/json' } : {}), ...c.headers },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(c.body)
  })
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs')
  const runs = runsArg === -1 ? 5 : Number(process.argv[runsArg + 1])
  const dir = mkdtempSync(join(tmpdir(), 'faultline-hostile-bench-'))
  const faultline = createFaultline({
    appName: 'shop',
    file: join(dir, 'shop-errors.log'),
    allowedHosts: ['127.0.0.1'],
    scrub: { fields: ['iban'] },
    env: false,
    debug: false,
    throwErrors: false,
    stderr: false,
    warningLimit: false,
    spoolDir: false,
  })
  const timings: number[] = []
  // the report is built when the response closes, in the request lifecycle's finalize
  const finalize = RequestLifecycle.prototype.finalize
  RequestLifecycle.prototype.finalize = function timedFinalize(this: RequestLifecycle, req, res) {
    const start = performance.now()
    finalize.call(this, req, res)
    timings.push(performance.now() - start)
  }
  const app = express()
  app.use(faultline.requestHandler())
  app.use(express.json({ limit: '4mb' }))
  app.all('/throw/:kind', (req) => throwing(String(req.params.kind), req))
  app.use(faultline.errorHandler())
  const server: Server = createServer({ maxHeaderSize: 4 * MB }, app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const delay = monitorEventLoopDelay({ resolution: 1 })
  console.log(`faultline under hostile input: worst of ${runs} runs per case (ms)\n`)
  console.log('| case | status | report build, median | worst | worst event-loop delay |')
  console.log('| --- | --- | --- | --- | --- |')
  let worst = 0
  for (const c of CASES) {
    timings.length = 0
    await send(port, c, 0)
    timings.length = 0
    delay.reset()
    delay.enable()
    let status = 0
    for (let i = 1; i <= runs; i++) status = await send(port, c, i)
    await new Promise((resolve) => setTimeout(resolve, 20))
    delay.disable()
    const build = Math.max(...timings, 0)
    const median = [...timings].sort((a, b) => a - b)[Math.floor(timings.length / 2)] ?? 0
    worst = Math.max(worst, build)
    console.log(
      `| ${c.name} | ${status} | ${median.toFixed(2)} | ${build.toFixed(2)} | ${(delay.max / 1e6).toFixed(1)} |`,
    )
  }
  console.log(`\nworst report build: ${worst.toFixed(2)} ms`)
  server.closeAllConnections()
  server.close()
  await faultline.close()
  rmSync(dir, { recursive: true, force: true })
}

await main()
