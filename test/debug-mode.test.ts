import { expect } from 'chai'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import request from 'supertest'
import { createFaultline, StderrTransport, type Faultline } from '../lib/index.js'
import { Outbox } from '../lib/testing.js'
import { captureStderr, createApp, createHarness, waitUntil } from './helpers.js'
import { runScript } from './support/processes.js'

describe('debug mode', () => {
  it('should print every report to stderr: kind, status, method, path, message, stack and incident id', async () => {
    let faultline: Faultline | undefined
    const ids: string[] = []
    const out = await captureStderr(async () => {
      faultline = createFaultline({ debug: true, throwErrors: false, env: false })
      faultline.on('report', (r) => ids.push(r.id))
      const app = createApp(faultline)
      app.get('/boom', () => {
        throw new TypeError('total is undefined')
      })
      app.use(faultline.errorHandler())
      await request(app).get('/boom')
      await request(app).get('/missing')
      await waitUntil(() => (ids.length === 2 ? ids : undefined), 10_000, 'two reports')
      await faultline.close()
    })
    expect(out).to.contain(`TRACEBACK 500 GET /boom [${ids[0]}] TypeError: total is undefined`)
    expect(out).to.match(/ {4}at .*debug-mode\.test\.ts:\d+:\d+/)
    expect(out).to.contain(`WARNING 404 GET /missing [${ids[1]}]`)
  })

  it('should colour the output on a terminal, and only there', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true })
    const pipe = new PassThrough()
    let coloured = ''
    let plain = ''
    tty.on('data', (c) => (coloured += c))
    pipe.on('data', (c) => (plain += c))
    const h = createHarness({
      debug: true,
      transports: [new StderrTransport({ stream: tty }), new StderrTransport({ stream: pipe })],
    })
    h.faultline.capture(new Error('colourful'))
    await h.waitForReports(1)
    await h.faultline.close()
    expect(coloured).to.contain('\u001b[1;31mTRACEBACK\u001b[0m')
    expect(plain).to.contain(' TRACEBACK ')
    expect(plain).not.to.contain('\u001b[')
  })

  it('should keep mail, syslog and tickets silent, and let the outbox show what they would have sent', async () => {
    const outbox = new Outbox()
    const h = createHarness({
      debug: true,
      mail: 'smtp://user:pass@127.0.0.1:1',
      syslog: 'udp://127.0.0.1:1',
      tickets: 'redmine+http://KEY@127.0.0.1:1/projects/shop',
      transports: [outbox],
    })
    const names = h.faultline.logger.transports.map((t) => t.constructor.name)
    expect(names).to.not.include.members(['MailTransport', 'SyslogTransport', 'TicketTransport'])
    h.faultline.capture(new Error('would be mailed'))
    await h.waitForReports(1)
    await h.faultline.close()
    expect(outbox.mail.map((r) => r.message)).to.deep.equal(['Error: would be mailed'])
    expect(outbox.tickets).to.have.length(1)
  })

  it('should file tickets in debug mode only when the setting forces it', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'faultline-forced-'))
    try {
      const quiet = createHarness({ debug: true, tickets: `local:${dir}/a` })
      const forced = createHarness({ debug: true, tickets: { url: `local:${dir}/b`, force: true } })
      expect(quiet.faultline.logger.transports.map((t) => t.constructor.name)).not.to.include(
        'TicketTransport',
      )
      expect(forced.faultline.logger.transports.map((t) => t.constructor.name)).to.include(
        'TicketTransport',
      )
      await Promise.all([quiet.faultline.close(), forced.faultline.close()])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('should print a loud warning at start-up when debug is asked for with NODE_ENV=production', async () => {
    const out = await captureStderr(async () => {
      const quiet = createFaultline({ stderr: false, env: { NODE_ENV: 'production' } })
      const loud = createFaultline({ stderr: false, debug: true, env: { NODE_ENV: 'production' } })
      const dev = createFaultline({ stderr: false, env: { NODE_ENV: 'development' } })
      await Promise.all([quiet.close(), loud.close(), dev.close()])
    })
    expect(out.match(/DEBUG MODE IS ON WHILE NODE_ENV=production/g)).to.have.length(1)
    expect(out).to.contain('Error pages will show stack traces')
  })

  it('should pause an attached debugger where faultline receives the error, with the error in scope', async function () {
    this.timeout(30_000)
    const [debug, production] = await Promise.all(
      ['debug', 'production'].map(async (mode) => {
        const { stdout } = await runScript('debugger-child.ts', [mode])
        return JSON.parse(stdout) as {
          status: number
          pauses: Array<{ functionName: string; message: string }>
        }
      }),
    )
    expect(debug!.status).to.equal(500)
    expect(debug!.pauses).to.deep.equal([
      { functionName: 'pauseForDebugger', message: 'look at me in the debugger' },
    ])
    expect(production!.pauses).to.deep.equal([])
  })
})
