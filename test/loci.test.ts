import { expect } from 'chai'
import express, { type NextFunction, type Request, type Response } from 'express'
import { connect } from 'node:net'
import { request as httpRequest } from 'node:http'
import {
  createApp,
  createHarness,
  listen,
  settle,
  sleep,
  waitUntil,
  type Harness,
} from './helpers.js'

/** Sends a raw HTTP request and collects everything the server sends until it closes the connection. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => (received += chunk))
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
  })
}

describe('where in the request an error happens', () => {
  let h: Harness
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  it('should cut the connection, not glue a page onto a body, when an error comes mid-stream', async () => {
    const app = createApp(h.faultline)
    app.get('/export', (_req, res, next) => {
      res.setHeader('Content-Type', 'text/csv')
      res.write('id,total\n1,10\n')
      setTimeout(() => next(new Error('cursor lost mid-export')), 5)
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      const received = await rawRequest(
        server.port,
        'GET /export HTTP/1.1\r\nHost: localhost\r\n\r\n',
      )
      expect(received).to.match(/^HTTP\/1\.1 200 OK/)
      expect(received).to.contain('1,10')
      // a chunked body that never got its last chunk: the client can tell it is truncated
      expect(received).not.to.match(/\r\n0\r\n\r\n$/)
      expect(received).not.to.contain('Incident')
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'traceback',
        locus: 'after-headers',
        status: 200,
        message: 'Error: cursor lost mid-export',
      })
    } finally {
      await server.close()
    }
  })

  it('should report an error passed on after the response finished, and leave the response intact', async () => {
    const app = createApp(h.faultline)
    app.get('/double', (_req, res, next) => {
      res.send('complete')
      next(new Error('next() after send'))
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      const res = await fetch(`${server.url}/double`)
      expect(await res.text()).to.equal('complete')
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'traceback', locus: 'after-finish', status: 200 })
      await settle()
      expect(h.reports).to.have.length(1)
    } finally {
      await server.close()
    }
  })

  it('should report an error raised as the response closes as its own traceback', async () => {
    const app = createApp(h.faultline)
    app.get('/cleanup', (req, res) => {
      res.on('close', () => h.faultline.capture(new Error('temp file cleanup failed'), req))
      res.send('ok')
    })
    const server = await listen(app)
    try {
      await fetch(`${server.url}/cleanup`).then((r) => r.text())
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'traceback',
        locus: 'at-close',
        message: 'Error: temp file cleanup failed',
      })
    } finally {
      await server.close()
    }
  })

  it('should record a client that disconnects mid-response at info, with no report', async () => {
    const app = createApp(h.faultline)
    app.get('/slow', (_req, res) => {
      res.write('first part')
      const timer = setInterval(() => res.write('.'), 20)
      res.on('close', () => clearInterval(timer))
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${server.url}/slow`, (res) => {
          res.once('data', () => {
            req.destroy()
            resolve()
          })
        })
        req.on('error', () => undefined)
        req.end()
      })
      const record = await h.waitForRecord((r) => r.event === 'aborted')
      expect(record).to.include({ level: 'info', status: 200, headersSent: true })
      expect((record.request as { url: string }).url).to.equal('/slow')
      await settle()
      expect(h.reports).to.have.length(0)
    } finally {
      await server.close()
    }
  })

  it("should treat an aborted upload as the client's doing: no page attempted, no error raised", async () => {
    const app = createApp(h.faultline)
    let handlerSaw: unknown
    app.post('/upload', express.json(), (_req, res) => {
      res.send('ok')
    })
    app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
      handlerSaw = err
      h.faultline.errorHandler()(err, req, res, next)
    })
    const server = await listen(app)
    try {
      const socket = connect(server.port, '127.0.0.1')
      socket.on('error', () => undefined)
      await new Promise<void>((resolve) => socket.on('connect', resolve))
      socket.write(
        'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
      )
      await sleep(30)
      socket.destroy()
      const record = await h.waitForRecord((r) => r.event === 'aborted')
      expect(record.level).to.equal('info')
      expect((handlerSaw as { type?: string }).type).to.equal('request.aborted')
      await settle()
      expect(h.reports).to.have.length(0)
    } finally {
      await server.close()
    }
  })

  it("should keep EPIPE from the app's own backend, with the client still there, the app's error", async () => {
    const app = createApp(h.faultline)
    app.get('/backend', () => {
      throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' })
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      const res = await fetch(`${server.url}/backend`)
      expect(res.status).to.equal(500)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'traceback' })
      expect(report!.error!.code).to.equal('EPIPE')
    } finally {
      await server.close()
    }
  })

  it('should mark an error raised before headers as such', async () => {
    const app = createApp(h.faultline)
    app.get('/early', () => {
      throw new Error('early')
    })
    app.use(h.faultline.errorHandler())
    const server = await listen(app)
    try {
      await fetch(`${server.url}/early`).then((r) => r.text())
      const report = await waitUntil(() => h.reports[0], 10_000, 'a report')
      expect(report.locus).to.equal('before-headers')
    } finally {
      await server.close()
    }
  })
})
