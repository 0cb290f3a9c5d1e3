import { expect } from 'chai'
import express from 'express'
import { get } from 'node:http'
import { gzipSync } from 'node:zlib'
import request from 'supertest'
import { SuspiciousRequest } from '../lib/index.js'
import { detectProbe } from '../lib/report/suspicious.js'
import { createApp, createHarness, listen, settle, type Harness } from './helpers.js'
import { EXPRESS_MAJOR } from './support/express-major.js'

describe('suspicious requests', () => {
  let h: Harness
  afterEach(() => h.faultline.close())

  describe('SuspiciousRequest', () => {
    beforeEach(() => {
      h = createHarness()
    })

    it('should answer 400 and report a warning with the reason', async () => {
      const app = createApp(h.faultline)
      app.post('/transfer', () => {
        throw new SuspiciousRequest('negative transfer amount')
      })
      app.use(h.faultline.errorHandler())
      const res = await request(app).post('/transfer').set('Accept', 'application/json').expect(400)
      // scanners learn nothing from the page
      expect(res.text).not.to.contain('negative')
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        level: 'warn',
        status: 400,
        suspicious: 'negative transfer amount',
      })
    })

    it('should take a given 4xx status, and refuse to be a 5xx', async () => {
      expect(new SuspiciousRequest('x', { status: 403 }).status).to.equal(403)
      expect(new SuspiciousRequest('x', { status: 500 }).status).to.equal(400)
      const app = createApp(h.faultline)
      app.get('/forbidden', () => {
        throw new SuspiciousRequest('token for another tenant', { status: 403 })
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/forbidden').expect(403)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'warning', status: 403 })
    })
  })

  describe('xhrOnly()', () => {
    beforeEach(() => {
      h = createHarness()
    })

    function xhrApp() {
      const app = createApp(h.faultline)
      app.get('/api/cart', h.faultline.xhrOnly(), (_req, res) => {
        res.json({ items: [] })
      })
      app.use(h.faultline.errorHandler())
      return app
    }

    it('should turn away a non-XHR request with 400 and a warning', async () => {
      await request(xhrApp()).get('/api/cart').set('Accept', 'text/html').expect(400)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        status: 400,
        suspicious: 'non-XHR request to an XHR-only resource',
      })
      expect(report!.request!.xhr).to.equal(false)
    })

    it('should let XMLHttpRequest and fetch() from a page through', async () => {
      const app = xhrApp()
      await request(app).get('/api/cart').set('X-Requested-With', 'XMLHttpRequest').expect(200)
      await request(app)
        .get('/api/cart')
        .set('Sec-Fetch-Dest', 'empty')
        .set('Sec-Fetch-Mode', 'cors')
        .expect(200)
      await settle()
      expect(h.reports).to.have.length(0)
    })
  })

  describe('allowedHosts', () => {
    beforeEach(() => {
      h = createHarness({ allowedHosts: ['shop.example', '.cdn.example'] })
    })

    function hostApp() {
      const app = createApp(h.faultline)
      app.get('/', (_req, res) => {
        res.send('home')
      })
      app.use(h.faultline.errorHandler())
      return app
    }

    it('should answer a listed host, with or without port, and its subdomains when listed with a dot', async () => {
      const app = hostApp()
      await request(app).get('/').set('Host', 'shop.example').expect(200)
      await request(app).get('/').set('Host', 'SHOP.example:8443').expect(200)
      await request(app).get('/').set('Host', 'img.cdn.example').expect(200)
      await request(app).get('/').set('Host', 'cdn.example').expect(200)
      await settle()
      expect(h.reports).to.have.length(0)
    })

    it('should turn away another Host with 400 and a warning, not an error', async () => {
      await request(hostApp()).get('/').set('Host', 'evil.example').expect(400)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        level: 'warn',
        status: 400,
        suspicious: 'Host header not allowed: evil.example',
      })
    })

    it("should turn away a malformed Host, and keep the reason even without faultline's error handler", async () => {
      const app = createApp(h.faultline)
      // Express's own final handler answers here; 'test' keeps it from printing the error
      app.set('env', 'test')
      app.get('/', (_req, res) => {
        res.send('home')
      })
      await request(app).get('/').set('Host', 'shop.example.evil.example@x').expect(400)
      const [report] = await h.waitForReports(1)
      expect(report!.suspicious).to.match(/^Host header not allowed: /)
    })
  })

  describe('malformed input', () => {
    beforeEach(() => {
      h = createHarness()
    })

    function bodyApp() {
      const app = createApp(h.faultline)
      app.post('/orders', express.json({ limit: '1kb' }), (_req, res) => {
        res.send('ok')
      })
      app.get('/items/:name', (req, res) => {
        res.send(req.params.name)
      })
      app.use(h.faultline.errorHandler())
      return app
    }

    it('should make a body that does not parse a 400 warning, not a traceback', async () => {
      await request(bodyApp())
        .post('/orders')
        .set('Content-Type', 'application/json')
        .send('{"broken":')
        .expect(400)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        status: 400,
        suspicious: 'malformed input: body that does not parse',
      })
    })

    it('should make an oversized body a 413 warning', async () => {
      await request(bodyApp())
        .post('/orders')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ pad: 'x'.repeat(5000) }))
        .expect(413)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        status: 413,
        suspicious: 'malformed input: oversized body',
      })
    })

    // body-parser 1 (Express 4) does not decode br: it answers 415, an unsupported encoding
    for (const encoding of ['gzip', 'deflate', ...(EXPRESS_MAJOR === 5 ? ['br'] : [])]) {
      it(`should make a body that is not the ${encoding} its Content-Encoding says a 400 malformed-input warning`, async () => {
        for (const body of ['{"a":1}', 'x'.repeat(300), '\u0000\u0001garbage']) {
          await request(bodyApp())
            .post('/orders')
            .set('Content-Type', 'application/json')
            .set('Content-Encoding', encoding)
            .send(body)
            .expect(400)
        }
        const reports = await h.waitForReports(3)
        for (const report of reports)
          expect(report).to.include({
            kind: 'warning',
            status: 400,
            suspicious: 'malformed input: body that does not match its Content-Encoding',
          })
      })
    }

    it('should still read a body that really is gzipped', async () => {
      const server = await listen(bodyApp())
      try {
        // fetch sends the bytes as they are; supertest would re-serialise a Buffer as JSON
        const res = await fetch(`${server.url}/orders`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          body: gzipSync('{"a":1}'),
        })
        expect(res.status).to.equal(200)
      } finally {
        await server.close()
      }
    })

    it('should make bad URL encoding in a parameter a 400 warning', async () => {
      await request(bodyApp()).get('/items/%E0%A4%A').expect(400)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({
        kind: 'warning',
        status: 400,
        suspicious: 'malformed input: bad URL encoding',
      })
    })
  })

  describe('probe paths', () => {
    beforeEach(() => {
      h = createHarness()
    })

    it('should flag what only scanners ask for', () => {
      for (const url of [
        '/.env',
        '/.git/config',
        '/wp-login.php',
        '/admin/config.php',
        '/static/..%2f..%2fetc/passwd',
        '/a/%2e%2e/b',
        '/file%00.png',
        '/x/../y',
        '/cgi-bin/test',
      ]) {
        expect(detectProbe(url), url).to.be.a('string')
      }
    })

    it('should flag traversal however it is encoded: twice or thrice, overlong UTF-8, backslashes, %u, fullwidth, any case', () => {
      for (const url of [
        '/..%252f..%252fetc/passwd',
        '/%252e%252e/%252e%252e/boot.ini',
        '/%25252e%25252e%25252fwin.ini',
        '/%25%32%65%25%32%65/x',
        '/..%c0%af..%c0%afetc/passwd',
        '/..%C0%AFboot.ini',
        '/%c0%ae%c0%ae/x',
        '/..%e0%80%afx',
        '/%2e%2e%5cwindows%5cwin.ini',
        '/..%5c..%5cx',
        '/%2E%2e%2F%2e%2E%2f',
        '/..\\..\\x',
        '/a/..;/b',
        '/%u002e%u002e/x',
        '/%uff0e%uff0e/x',
        '/..%ef%bc%8fx',
        '/%252e%252e%255c',
      ]) {
        expect(detectProbe(url), url).to.equal('probe path: directory traversal')
      }
      expect(detectProbe('/%252eenv'), 'a double-encoded dotfile').to.equal(
        'probe path: a file only scanners ask for',
      )
      expect(detectProbe('/file%2500.png'), 'a double-encoded NUL').to.equal(
        'probe path: NUL byte in the URL',
      )
    })

    it('should name the traversal, not the file it aims at, however the dots are encoded', () => {
      for (const url of [
        '/%2e%2e/%2e%2e/etc/passwd',
        '/cgi-bin/..%2f..%2fbin/sh',
        '/%252e%252e/%252e%252e/etc/passwd',
        '/.git/..%2f..%2fconfig',
        '/wp-admin/%2e%2e/%2e%2e/x.php',
        '/static/..%5c..%5c.env',
        '/..%c0%af..%c0%afetc/passwd',
        '/phpmyadmin/%u002e%u002e/x',
      ]) {
        expect(detectProbe(url), url).to.equal('probe path: directory traversal')
      }
    })

    it('should name a NUL byte first, wherever a round of decoding reveals it', () => {
      for (const url of [
        '/etc/passwd%00',
        '/..%2f..%2fetc/passwd%00.png',
        '/.env%2500',
        '/index.php%252500.png',
        '/.env/%00',
        '/cgi-bin/x.cgi%2500',
      ]) {
        expect(detectProbe(url), url).to.equal('probe path: NUL byte in the URL')
      }
    })

    it('should see a scanner file behind backslashes and path parameters', () => {
      for (const url of ['/static%5c.git%5cconfig', '/a\\.env', '/shell.php;.jpg', '/.git;/HEAD']) {
        expect(detectProbe(url), url).to.equal('probe path: a file only scanners ask for')
      }
    })

    it('should report a traversal over a route that answered it 404, 200 or 400 for its bad escape', async () => {
      const app = createApp(h.faultline)
      app.get('/files/:name', (req, res) => {
        res.send(`no file ${req.params.name.length}`)
      })
      app.use(h.faultline.notFound())
      app.use(h.faultline.errorHandler())
      const server = await listen(app)
      const status = (path: string) =>
        new Promise<number>((resolve, reject) =>
          get({ host: '127.0.0.1', port: server.port, path }, (res) =>
            res.resume().on('end', () => resolve(res.statusCode ?? 0)),
          ).on('error', reject),
        )
      try {
        expect(await status('/%2e%2e/%2e%2e/etc/passwd')).to.equal(404)
        expect(await status('/cgi-bin/..%2f..%2fbin/sh')).to.equal(404)
        expect(await status('/files/..%252f..%252fetc%252fpasswd')).to.equal(200)
        // Express cannot decode the parameter: a 400 for malformed input, and still the traversal it is
        expect(await status('/files/..%2f..%2fetc%2fpasswd%zz')).to.equal(400)
        const reports = await h.waitForReports(4)
        expect(reports.map((r) => [r.status, r.suspicious, r.kind])).to.deep.equal([
          [404, 'probe path: directory traversal', 'warning'],
          [404, 'probe path: directory traversal', 'warning'],
          [200, 'probe path: directory traversal', 'warning'],
          [400, 'probe path: directory traversal', 'warning'],
        ])
      } finally {
        await server.close()
      }
    })

    it('should warn about a double-encoded traversal that an SPA catch-all answered with 200', async () => {
      const app = createApp(h.faultline)
      app.use((_req, res) => {
        res.send('<!doctype html><div id=app></div>')
      })
      const server = await listen(app)
      try {
        // sent raw: a client library would resolve the dots before they leave
        for (const path of [
          '/..%252f..%252fetc/passwd',
          '/static/%252e%252e/%252e%252e/app.env',
          '/..%c0%af..%c0%afetc/passwd',
          '/%2e%2e%5c..%5cwin.ini',
        ]) {
          const status = await new Promise<number>((resolve, reject) =>
            get({ host: '127.0.0.1', port: server.port, path }, (res) =>
              res.resume().on('end', () => resolve(res.statusCode ?? 0)),
            ).on('error', reject),
          )
          expect(status, path).to.equal(200)
        }
        const reports = await h.waitForReports(4)
        for (const report of reports)
          expect(report).to.include({
            kind: 'warning',
            status: 200,
            suspicious: 'probe path: directory traversal',
          })
      } finally {
        await server.close()
      }
    })

    it('should leave ordinary paths alone', () => {
      for (const url of [
        '/',
        '/orders/42',
        '/environment',
        '/static/app.js',
        '/gitlab',
        '/search?q=a..b',
        '/files/v1.2.3.tar.gz',
        '/php-tutorial',
        '/caf%C3%A9',
        '/100%25',
        '/a%2Fb',
        '/q?x=%2525',
        '/orders/%E2%82%AC',
        '/%E0%A4%A',
        '/notes/...%2fx',
        '/v1..2',
      ]) {
        expect(detectProbe(url), url).to.equal(undefined)
      }
    })

    it('should flag a probe on its 404 warning', async () => {
      const app = createApp(h.faultline)
      await request(app).get('/.env').expect(404)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'warning', status: 404 })
      expect(report!.suspicious).to.match(/^probe path/)
    })

    it('should warn about a probe that the app answered with 200', async () => {
      const app = createApp(h.faultline)
      app.use((_req, res) => {
        res.send('catch-all')
      })
      await request(app).get('/wp-login.php').expect(200)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'warning', status: 200 })
    })
  })

  describe('rate limit', () => {
    it("should hold back a scanner's flood and report how many were dropped", async () => {
      // a window no loaded machine outruns: the summary comes with close, not when the window ends
      h = createHarness({ warningLimit: { perClient: 5, windowMs: 60_000 } })
      const app = createApp(h.faultline)
      const server = await listen(app)
      try {
        for (let i = 0; i < 30; i++) await fetch(`${server.url}/.env?i=${i}`).then((r) => r.text())
        await h.waitForReports(5)
        await h.faultline.close()
        const summary = h.reports.find((r) => r.dropped)!
        expect(h.reports.filter((r) => !r.dropped)).to.have.length(5)
        expect(summary).to.include({ kind: 'warning', level: 'warn' })
        expect(summary.dropped!.total).to.equal(25)
        expect(summary.dropped!.clients[0]).to.deep.include({ family: 'probe-path', count: 25 })
        expect(summary.message).to.match(/^25 warnings held back by the rate limit/)
      } finally {
        await server.close()
      }
    })

    for (const trusted of [false, true])
      it(`should keep a budget per ${trusted ? 'forwarded client behind a trusted proxy' : 'connection, ignoring X-Forwarded-For, when no proxy is trusted'}`, async () => {
        h = createHarness({ warningLimit: { perClient: 2, windowMs: 60_000 } })
        const app = createApp(h.faultline)
        if (trusted) app.set('trust proxy', true)
        const agent = request(app)
        for (let i = 0; i < 3; i++)
          for (const client of ['203.0.113.7', '198.51.100.9'])
            await agent.get('/missing').set('X-Forwarded-For', client)
        await h.waitForReports(trusted ? 4 : 2)
        await h.faultline.close()
        const summary = h.reports.find((r) => r.dropped)
        expect(h.reports.filter((r) => !r.dropped)).to.have.length(trusted ? 4 : 2)
        expect(summary!.dropped!.total).to.equal(trusted ? 2 : 4)
        const clients = summary!.dropped!.clients.map((c) => c.client).sort()
        // supertest's server listens on 127.0.0.1 or ::, so the connection's address is written either way
        const expectedSocket = clients[0] === '::ffff:127.0.0.1' ? clients[0] : '127.0.0.1'
        expect(clients).to.deep.equal(trusted ? ['198.51.100.9', '203.0.113.7'] : [expectedSocket])
      })

    it('should count warnings of each family apart, and never hold back errors', async () => {
      h = createHarness({ warningLimit: { perClient: 2, windowMs: 60_000 } })
      const app = createApp(h.faultline)
      app.get('/fail', () => {
        throw new Error('real bug')
      })
      app.use(h.faultline.errorHandler())
      const agent = request(app)
      for (let i = 0; i < 4; i++) await agent.get('/missing')
      for (let i = 0; i < 4; i++) await agent.get('/.git/config')
      for (let i = 0; i < 4; i++) await agent.get('/fail')
      await h.waitForReports(8)
      await settle()
      expect(h.reports.filter((r) => r.kind === 'traceback')).to.have.length(4)
      expect(h.reports.filter((r) => r.kind === 'warning')).to.have.length(4)
      await h.faultline.close()
      const summary = h.reports.find((r) => r.dropped)
      expect(summary!.dropped!.total).to.equal(4)
    })
  })
})
