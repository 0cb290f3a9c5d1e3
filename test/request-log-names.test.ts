import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'chai'
import express, { type RequestHandler } from 'express'
import request from 'supertest'
import winston from 'winston'
import { createFaultline } from '../lib/index.js'
import { MemoryTransport, waitUntil } from './helpers.js'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')

// loaded untyped: pino-http's types would give every IncomingMessage of this whole project a pino `log`
interface PinoLogger {
  info(fields: object, message: string): void
}
const { pino } = require('pino') as {
  pino: (options: object, stream: { write(line: string): void }) => PinoLogger
}
const { pinoHttp } = require('pino-http') as {
  pinoHttp: (options: { logger: PinoLogger; autoLogging: boolean }) => RequestHandler
}
const fixture = (name: string) =>
  fileURLToPath(new URL(`./fixtures/request-log-types/${name}/tsconfig.json`, import.meta.url))

async function typeCheck(name: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', fixture(name)], { timeout: 300_000 })
    return ''
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err)
  }
}

/** A pino logger writing its JSON lines into an array. */
function pinoLines(): { logger: PinoLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as never) }
  return { logger: pino({ level: 'info' }, stream), lines }
}

function appWith(order: 'pino first' | 'faultline first') {
  const memory = new MemoryTransport()
  const faultline = createFaultline({
    env: false,
    stderr: false,
    spoolDir: false,
    warningLimit: false,
    transports: [memory],
  })
  const { logger, lines } = pinoLines()
  const pinoMiddleware = pinoHttp({ logger, autoLogging: false })
  const app = express()
  if (order === 'pino first') app.use(pinoMiddleware, faultline.requestHandler())
  else app.use(faultline.requestHandler(), pinoMiddleware)
  app.get('/orders/:id', (req, res) => {
    ;(req.log as unknown as PinoLogger).info({ order: req.params.id }, 'order shown')
    req.faultline.warn('stock low for order %s', req.params.id)
    res.send('ok')
  })
  app.use(faultline.errorHandler())
  return { app, faultline, memory, lines }
}

describe('faultline’s request logger beside pino-http', () => {
  for (const order of ['pino first', 'faultline first'] as const) {
    it(`should leave req.log to pino-http and give faultline’s logger as req.faultline, ${order}, on every request`, async () => {
      const { app, faultline, memory, lines } = appWith(order)
      for (const id of ['1', '2', '3']) await request(app).get(`/orders/${id}`).expect(200)
      await waitUntil(() => (memory.records.length >= 3 ? memory : undefined), 10_000, 'warnings')
      await faultline.close()
      expect(lines.map((line) => [line.msg, line.order])).to.deep.equal([
        ['order shown', '1'],
        ['order shown', '2'],
        ['order shown', '3'],
      ])
      expect(memory.records.map((r) => r.message)).to.deep.equal(
        ['1', '2', '3'].map((id) => `stock low for order ${id}`),
      )
    })
  }

  it('should still give req.log to an app without another request logger', async () => {
    const memory = new MemoryTransport()
    const faultline = createFaultline({
      env: false,
      stderr: false,
      spoolDir: false,
      logger: winston.createLogger({ transports: [memory] }),
    })
    const app = express()
    app.use(faultline.requestHandler())
    app.get('/', (req, res) => {
      expect(req.log).to.equal(req.faultline)
      req.log.error('ledger out of balance')
      res.send('ok')
    })
    await request(app).get('/').expect(200)
    const record = await waitUntil(() => memory.records[0], 10_000, 'the report')
    await faultline.close()
    expect(record).to.include({ kind: 'error', level: 'error' })
  })

  it('should type-check an app using pino-http and faultline with skipLibCheck off: req.log pino’s, req.faultline winston’s', async function () {
    this.timeout(300_000)
    expect(await typeCheck('with-pino')).to.equal('')
  })

  it('should type-check req.log as faultline’s winston logger in an app without pino-http', async function () {
    this.timeout(300_000)
    expect(await typeCheck('winston-only')).to.equal('')
  })
})
