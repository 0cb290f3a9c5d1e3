/**
 * Runs the shop the way it would run in production: debug off, errors
 * answered with safe pages, every report appended to a JSON-lines file and
 * printed to stderr. The options below win over `FAULTLINE_*` environment
 * variables, which fill in only what they leave unset (FAULTLINE_SYSLOG adds syslog).
 *
 *   npm run demo               serve on 127.0.0.1:$PORT (3000 by default)
 *   npm run demo -- --tour     fire one request of each kind, print what was reported where, exit
 *
 * SHOP_VAR_DIR moves the `var` directory the report file lives in (the tests
 * point it at a temporary directory so they leave nothing in the repository).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createFaultline, type Faultline } from '../../lib/index.js'
import { createShopApp, SHOP_ROUTES } from './app.js'
import { reportFile, stderrTransport } from './destinations.js'
import { runTour } from './tour.js'
import { DEMO_LOGIN, INCIDENT_VIEW_MOUNT } from './ops.js'

const HOST = '127.0.0.1'

function createShopFaultline(): Faultline {
  return createFaultline({
    appName: 'shop',
    file: join(process.env.SHOP_VAR_DIR ?? 'var', 'log', 'shop-errors.log'),
    // no SMTP server needed: each mail to the managers is written as an .eml file
    managers: ['ops@shop.example'],
    mail: { outbox: join(process.env.SHOP_VAR_DIR ?? 'var', 'outbox') },
    // the embedded tracker: one JSON ticket (and a Markdown rendering) per distinct traceback
    tickets: `local:${join(process.env.SHOP_VAR_DIR ?? 'var', 'tickets')}`,
    // what mail and tickets could not deliver yet waits here across restarts
    spoolDir: join(process.env.SHOP_VAR_DIR ?? 'var', 'spool'),
    debug: false,
    throwErrors: false,
    stderr: true,
    // the demo is reached as localhost or 127.0.0.1; any other Host header is a 400 and a warning
    allowedHosts: ['localhost', '127.0.0.1'],
  })
}

/** Listens on `port`; when it is taken, on a free port the system picks, so a second demo still starts. */
function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        process.stderr.write(`shop: port ${port} is taken; using a free one instead\n`)
        resolve(listen(server, 0))
      } else {
        reject(err)
      }
    }
    server.once('error', onError)
    server.listen(port, HOST, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function readPort(): number {
  const raw = process.env.PORT
  if (raw === undefined || raw.trim() === '') return 3000
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`shop: PORT must be a port number from 0 to 65535; got ${JSON.stringify(raw)}`)
  }
  return port
}

async function serve(): Promise<void> {
  // PORT is checked first: a bad one must not leave an empty report file behind
  const wanted = readPort()
  const faultline = createShopFaultline()
  const server = createServer(createShopApp(faultline))
  let port: number
  try {
    port = await listen(server, wanted)
  } catch (err) {
    await faultline.close()
    throw err
  }
  const base = `http://${HOST}:${port}`
  const file = reportFile(faultline)
  const width = Math.max(...SHOP_ROUTES.map((r) => base.length + r.path.length))
  const mode = faultline.debug ? 'debug mode' : 'production mode: debug off, safe error pages'
  console.log(`shop is listening on ${base} (${mode})`)
  console.log(
    `reports go to: ${[file?.shown, stderrTransport(faultline) ? 'stderr' : undefined].filter(Boolean).join(' and ') || 'the report event only'}\n`,
  )
  for (const route of SHOP_ROUTES)
    console.log(`  ${(base + route.path).padEnd(width)}  ${route.outcome}`)
  console.log(
    `\nincident view: ${base}${INCIDENT_VIEW_MOUNT}/ (log in at ${base}/login as ${DEMO_LOGIN.user} / ${DEMO_LOGIN.password})`,
  )
  console.log(
    `\n  curl -X POST -H 'X-Requested-With: XMLHttpRequest' -H 'Content-Type: application/json' -d '{"sku":' ${base}/api/cart   # malformed JSON (warning)`,
  )
  console.log('\nCtrl-C to stop.')

  let stopping = false
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // a second Ctrl-C means now
      process.exit(130)
    }
    stopping = true
    console.log(`\n${signal}: closing the server and flushing reports…`)
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // in-flight requests (a /slow download) get two seconds to finish before they are cut
    const grace = setTimeout(() => server.closeAllConnections(), 2000)
    await closed
    clearTimeout(grace)
    await faultline.close()
    console.log('bye')
  }
  process.on('SIGINT', (signal) => void stop(signal))
  process.on('SIGTERM', (signal) => void stop(signal))
}

async function tour(): Promise<void> {
  const faultline = createShopFaultline()
  const server = createServer(createShopApp(faultline))
  let closing: Promise<void> | undefined
  // the tour closes everything itself before it reads the file back; the finally covers a tour that threw
  const shutdown = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await faultline.close()
    })())
  try {
    const port = await listen(server, 0)
    const ok = await runTour({
      faultline,
      base: `http://${HOST}:${port}`,
      shutdown,
      print: (line) => console.log(line),
    })
    process.exitCode = ok ? 0 : 1
  } finally {
    await shutdown()
  }
}

const main = process.argv.includes('--tour') ? tour : serve
main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
