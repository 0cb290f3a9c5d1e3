import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { createFaultline } from '../lib/index.js'
import { createApp, logPaymentThroughRequest, MemoryTransport, waitUntil } from './helpers.js'

// faultline's own transports get reports from the dispatcher directly; winston's plumbing carries
// them only to the transports an app adds. Both must see every record once, in order.
describe('reports to faultline’s transports and to an app’s own', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-direct-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('should give the file and an app’s transports, given or added later, every report once and in order', async () => {
    const file = join(dir, 'errors.log')
    const given = new MemoryTransport()
    const added = new MemoryTransport()
    const faultline = createFaultline({
      env: false,
      stderr: false,
      warningLimit: false,
      spoolDir: false,
      file,
      transports: [given],
    })
    faultline.logger.add(added)
    const app = createApp(faultline)
    app.get('/boom', () => {
      throw new Error('replica down')
    })
    app.use(faultline.errorHandler())
    const ids: string[] = []
    for (const path of ['/boom', '/missing', '/boom', '/missing']) {
      const res = await request(app).get(path)
      ids.push(String(res.headers['x-incident-id'] ?? ''))
    }
    ids.push(faultline.capture(new Error('a background job failed')))
    await waitUntil(() => (added.records.length >= 5 ? added : undefined), 10_000, 'five records')
    await faultline.close()
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id)
    const reportIds = given.records.map((r) => r.id)
    // the 404s of Express's final handler carry no header: their ids come from the records
    expect(lines).to.deep.equal(reportIds)
    expect(added.records.map((r) => r.id)).to.deep.equal(reportIds)
    expect(reportIds).to.have.length(5)
    for (const id of ids.filter(Boolean)) expect(reportIds).to.include(id)
  })

  it('should pass req.log info lines through winston to every transport that takes info, once', async () => {
    const file = join(dir, 'info.log')
    const mine = new MemoryTransport()
    const faultline = createFaultline({
      env: false,
      stderr: false,
      spoolDir: false,
      file: { filename: file, level: 'info' },
      transports: [mine],
    })
    await logPaymentThroughRequest(faultline, mine)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines).to.have.length(1)
    expect(JSON.parse(lines[0]!)).to.include({ level: 'info', message: 'payment p-1 captured' })
    expect(mine.records.map((r) => r.message)).to.deep.equal(['payment p-1 captured'])
  })

  it('should leave out of a transport what is below its level, and everything while the logger is silent', async () => {
    const errorsOnly = join(dir, 'errors-only.log')
    const faultline = createFaultline({
      env: false,
      stderr: false,
      warningLimit: false,
      spoolDir: false,
      file: { filename: errorsOnly, level: 'error' },
    })
    const app = createApp(faultline)
    await request(app).get('/missing').expect(404)
    faultline.capture(new Error('counted'))
    faultline.logger.silent = true
    faultline.capture(new Error('silenced'))
    await faultline.close()
    const lines = readFileSync(errorsOnly, 'utf8').trim().split('\n')
    expect(lines.map((line) => (JSON.parse(line) as { message: string }).message)).to.deep.equal([
      'Error: counted',
    ])
  })
})
