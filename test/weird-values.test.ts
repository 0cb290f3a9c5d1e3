import { expect } from 'chai'
import request from 'supertest'
import { serializeError } from '../lib/report/serialize-error.js'
import { createApp, createHarness, type Harness } from './helpers.js'
import { anyPath, withOnlyFaultlineListening } from './support/express-major.js'

function circular() {
  const value: Record<string, unknown> = { name: 'loop' }
  value.self = value
  return value
}

function throwingGetters() {
  const err = new Error('has traps')
  for (const key of ['status', 'statusCode', 'headers', 'expose', 'code', 'cause']) {
    Object.defineProperty(err, key, {
      enumerable: true,
      get() {
        throw new Error(`getter ${key}`)
      },
    })
  }
  return err
}

const WEIRD: Array<[string, () => unknown]> = [
  ['a string', () => 'just a string'],
  ['null', () => null],
  ['undefined', () => undefined],
  ['a number', () => 42],
  ['a plain object', () => ({ code: 'E_PLAIN', detail: 'plain' })],
  ['a circular object', circular],
  ['an error whose getters throw', throwingGetters],
  [
    'a Proxy that throws on every read',
    () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap')
          },
          ownKeys() {
            throw new Error('trap')
          },
        },
      ),
  ],
  ['an error with a 1 MB message', () => new Error('x'.repeat(1024 * 1024))],
  [
    'an error with CRLF and HTML in its message',
    () => new Error('bad\r\nX-Injected: yes\r\n<script>alert(1)</script>'),
  ],
  [
    'an error whose cause is itself',
    () => {
      const err = new Error('self-caused')
      ;(err as { cause?: unknown }).cause = err
      return err
    },
  ],
]

describe('weird thrown values', () => {
  let h: Harness
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  for (const [what, make] of WEIRD) {
    it(`should answer 500 and report a traceback when an async handler rejects with ${what}`, async () => {
      const app = createApp(h.faultline)
      app.get('/weird', async () => {
        await Promise.resolve()
        throw make()
      })
      app.use(h.faultline.errorHandler())
      const res = await withOnlyFaultlineListening(() =>
        request(app).get('/weird').set('Accept', 'text/html').expect(500),
      )
      const [report] = await h.waitForReports(1)
      expect(report!.kind).to.equal('traceback')
      expect(res.headers['x-incident-id']).to.equal(report!.id)
      expect(res.text).not.to.contain('<script>alert')
      expect(res.headers).not.to.have.property('x-injected')
      expect(JSON.stringify(report).length).to.be.below(64 * 1024)
    })

    it(`should report ${what} handed to capture() inside a request`, async () => {
      const app = createApp(h.faultline)
      app.get('/weird', (req, res) => {
        const id = h.faultline.capture(make(), req)
        res.status(500).send(id)
      })
      const res = await request(app).get('/weird').expect(500)
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'traceback', id: res.text })
      expect(report!.error!.name).to.be.a('string')
    })
  }

  // Express itself treats a synchronous `throw null` or `throw undefined` as "no error" and answers 404
  for (const [what, make] of WEIRD.filter(([w]) => w !== 'null' && w !== 'undefined')) {
    it(`should answer 500 and report a traceback when a handler throws ${what}`, async () => {
      const app = createApp(h.faultline)
      app.get('/weird', () => {
        throw make()
      })
      app.use(h.faultline.errorHandler())
      const res = await withOnlyFaultlineListening(() =>
        request(app).get('/weird').set('Accept', 'text/html').expect(500),
      )
      const [report] = await h.waitForReports(1)
      expect(report!.kind).to.equal('traceback')
      expect(res.headers['x-incident-id']).to.equal(report!.id)
      expect(res.text).not.to.contain('<script>alert')
      expect(res.headers).not.to.have.property('x-injected')
    })
  }

  it('should keep a megabyte message short, saying how much was cut', () => {
    const serialized = serializeError(new Error('y'.repeat(1024 * 1024)))
    expect(serialized.message.length).to.be.below(9000)
    expect(serialized.message).to.match(/more characters\]$/)
    expect(serialized.stack!.length).to.be.below(20_000)
  })

  it('should describe what was thrown when it is not an error', () => {
    expect(serializeError('oops')).to.deep.equal({
      name: 'NonError',
      thrown: 'string',
      message: 'oops',
    })
    expect(serializeError(null)).to.deep.equal({
      name: 'NonError',
      thrown: 'null',
      message: 'null',
    })
    expect(serializeError(undefined)).to.deep.equal({
      name: 'NonError',
      thrown: 'undefined',
      message: 'undefined',
    })
    expect(serializeError(circular()).message).to.contain('[Circular *1]')
  })

  it('should handle CRLF and HTML in the URL', async () => {
    const app = createApp(h.faultline)
    app.get(anyPath(), () => {
      throw new Error('in a hostile path')
    })
    app.use(h.faultline.errorHandler())
    const res = await request(app)
      .get('/a%0d%0aSet-Cookie:%20x=1/%3Cscript%3Ealert(1)%3C/script%3E')
      .set('Accept', 'text/html')
      .expect(500)
    expect(res.headers['set-cookie']).to.equal(undefined)
    expect(res.text).not.to.contain('<script>')
    const [report] = await h.waitForReports(1)
    expect(report!.request!.url).to.equal(
      '/a%0d%0aSet-Cookie:%20x=1/%3Cscript%3Ealert(1)%3C/script%3E',
    )
  })
})
