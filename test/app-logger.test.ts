import { expect } from 'chai'
import request from 'supertest'
import winston from 'winston'
import { MESSAGE } from 'triple-beam'
import { createFaultline, FaultlineConfigError } from '../lib/index.js'
import {
  captureStderr,
  createApp,
  logPaymentThroughRequest,
  MemoryTransport,
  waitUntil,
} from './helpers.js'

const quiet = { env: false, stderr: false, warningLimit: false, spoolDir: false } as const

/** An app whose routes give, in order, a traceback, a 404 warning and a hand-written error. */
async function runThreeOutcomes(faultline: ReturnType<typeof createFaultline>): Promise<string[]> {
  const app = createApp(faultline)
  app.get('/boom', () => {
    throw new Error('replica down')
  })
  app.get('/hand', (req, res) => {
    req.faultline.error('payment declined for order %d', 7)
    res.status(502).send('sorry')
  })
  app.use(faultline.errorHandler())
  const ids: string[] = []
  for (const path of ['/boom', '/missing', '/hand']) {
    const res = await request(app).get(path)
    ids.push(String(res.headers['x-incident-id'] ?? ''))
  }
  return ids
}

describe('faultline.logger and the app’s own winston logger', () => {
  it('should give a data listener on faultline.logger every report, in order, with level and message', async () => {
    const faultline = createFaultline({ ...quiet, file: undefined })
    const seen: Array<Record<string | symbol, unknown>> = []
    faultline.logger.on('data', (info: Record<string | symbol, unknown>) => seen.push(info))
    const reports: string[] = []
    faultline.on('report', (report) => reports.push(report.id))
    await runThreeOutcomes(faultline)
    await waitUntil(() => (seen.length >= 3 ? seen : undefined), 10_000, 'three records')
    await faultline.close()
    expect(seen.map((info) => info.id)).to.deep.equal(reports)
    expect(seen.map((info) => info.level)).to.deep.equal(['error', 'warn', 'error'])
    expect(seen[0]!.message).to.match(/replica down/)
    // the logger's format ran: the formatted line a stream reader or a transport would write
    expect(JSON.parse(String(seen[0]![MESSAGE]))).to.include({ id: reports[0], kind: 'traceback' })
  })

  it('should log every report through the app’s own logger, to its transports, in order, and add none to it', async () => {
    const first = new MemoryTransport()
    const second = new MemoryTransport({ level: 'error' })
    const appLogger = winston.createLogger({
      level: 'info',
      defaultMeta: { service: 'shop' },
      transports: [first, second],
    })
    const faultline = createFaultline({ ...quiet, logger: appLogger })
    expect(faultline.logger).to.equal(appLogger)
    expect(appLogger.transports).to.deep.equal([first, second])
    const reports: string[] = []
    faultline.on('report', (report) => reports.push(report.id))
    const ids = await runThreeOutcomes(faultline)
    appLogger.info('the app’s own line')
    await waitUntil(() => (first.records.length >= 4 ? first : undefined), 10_000, 'four records')
    await faultline.close()
    expect(first.records.slice(0, 3).map((r) => r.id)).to.deep.equal(reports)
    expect(reports).to.include(ids[0]).and.include(ids[2])
    const [traceback, warning, handWritten] = first.records
    expect(traceback).to.include({
      level: 'error',
      kind: 'traceback',
      service: 'shop',
      status: 500,
    })
    expect(traceback!.message).to.match(/replica down/)
    expect(traceback!.request).to.include({ method: 'GET', url: '/boom' })
    expect(warning).to.include({ level: 'warn', kind: 'warning', status: 404 })
    expect(handWritten).to.include({ level: 'error', kind: 'error', status: 502 })
    expect(handWritten!.message).to.match(/payment declined for order 7/)
    expect(first.records[3]).to.include({ message: 'the app’s own line' })
    // the transport's own level still filters
    expect(second.records.map((r) => r.id)).to.deep.equal([reports[0], reports[2]])
    // close() leaves the app's logger open: it is the app's
    expect(appLogger.writable).to.equal(true)
    appLogger.close()
  })

  it('should make req.faultline and req.log children of the app’s logger, whose info lines reach its transports', async () => {
    const mine = new MemoryTransport()
    const appLogger = winston.createLogger({ level: 'info', transports: [mine] })
    const faultline = createFaultline({ ...quiet, logger: appLogger })
    await logPaymentThroughRequest(faultline, mine)
    expect(mine.records[0]).to.include({
      level: 'info',
      message: 'payment p-1 captured',
      url: '/paid',
    })
    appLogger.close()
  })

  it('should log reports at the app’s logger’s own level names when it uses syslog levels', async () => {
    const mine = new MemoryTransport()
    const appLogger = winston.createLogger({
      levels: winston.config.syslog.levels,
      level: 'debug',
      transports: [mine],
    })
    const faultline = createFaultline({ ...quiet, logger: appLogger })
    const app = createApp(faultline)
    app.get('/hand', (req, res) => {
      req.log.warning('stock low')
      res.send('ok')
    })
    await request(app).get('/missing').expect(404)
    await request(app).get('/hand').expect(200)
    await waitUntil(() => (mine.records.length >= 2 ? mine : undefined), 10_000, 'two records')
    await faultline.close()
    expect(mine.records.map((r) => [r.level, r.kind])).to.deep.equal([
      ['warning', 'warning'],
      ['warning', 'warning'],
    ])
    expect(mine.records[1]!.message).to.match(/stock low/)
    appLogger.close()
  })

  it('should refuse at start-up a logger that is not a winston logger, or has no level for warnings', () => {
    expect(() => createFaultline({ ...quiet, logger: console as never }))
      .to.throw(FaultlineConfigError)
      .with.property('field', 'logger')
    const noWarn = winston.createLogger({ levels: { error: 0, info: 1 } })
    expect(() => createFaultline({ ...quiet, logger: noWarn }))
      .to.throw(FaultlineConfigError, /"warn" or "warning"/)
      .with.property('field', 'logger')
  })

  it('should keep stderr off with the app’s logger unless asked for', async () => {
    const appLogger = winston.createLogger({ transports: [new MemoryTransport()] })
    const written = async (stderr?: boolean) =>
      captureStderr(async () => {
        const faultline = createFaultline({
          env: false,
          spoolDir: false,
          logger: appLogger,
          ...(stderr === undefined ? {} : { stderr }),
        })
        faultline.capture(new Error('nightly export failed'))
        await faultline.close()
      })
    expect(await written()).to.not.include('nightly export failed')
    expect(await written(true)).to.include('nightly export failed')
    appLogger.close()
  })
})
