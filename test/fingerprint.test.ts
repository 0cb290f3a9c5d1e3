import { expect } from 'chai'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { computeFingerprint, normalizeMessage } from '../lib/report/fingerprint.js'
import { createApp, createHarness, type Harness } from './helpers.js'
import { runScript } from './support/processes.js'

/** Writes an app whose `loadOrder` throws, with `padding` blank lines first: a later deploy that moved the code. */
function writeApp(
  root: string,
  padding: number,
  message = 'order ${id} not found in shard 7',
): void {
  mkdirSync(join(root, 'src'), { recursive: true })
  writeFileSync(
    join(root, 'src', 'orders.mjs'),
    `${'\n'.repeat(padding)}export function loadOrder(id) {\n  throw new Error(\`${message}\`)\n}\n`,
  )
}

async function fingerprintFromChild(
  root: string,
  orderId: string,
): Promise<{ fingerprint: string; pid: number }> {
  const { stdout } = await runScript('fingerprint-child.ts', [root, orderId])
  return JSON.parse(stdout.trim()) as { fingerprint: string; pid: number }
}

describe('fingerprints', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-fp-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('should be the same for the same error from two processes and two deploys, and differ for another error', async function () {
    this.timeout(30_000)
    writeApp(join(dir, 'release-1'), 0)
    writeApp(join(dir, 'release-2'), 12)
    writeApp(join(dir, 'release-3'), 0, 'payment for order ${id} declined')
    const [a, b, c] = await Promise.all([
      fingerprintFromChild(join(dir, 'release-1'), '1001'),
      fingerprintFromChild(join(dir, 'release-2'), '77'),
      fingerprintFromChild(join(dir, 'release-3'), '1001'),
    ])
    expect(a.pid).not.to.equal(b.pid)
    expect(a.fingerprint).to.match(/^[0-9a-f]{16}$/)
    expect(a.fingerprint).to.equal(b.fingerprint)
    expect(c.fingerprint).not.to.equal(a.fingerprint)
  })

  it('should normalise ids, numbers, times and addresses out of messages', () => {
    expect(normalizeMessage('order 1234 not found')).to.equal(
      normalizeMessage('order 98 not found'),
    )
    expect(
      normalizeMessage('user 3f2b9c1e-8d4a-4e2b-9c1d-2a3b4c5d6e7f locked at 2026-11-21T10:00:00Z'),
    ).to.equal('user <uuid> locked at <time>')
    expect(normalizeMessage('connect ECONNREFUSED 10.0.0.12:5432')).to.equal(
      'connect ECONNREFUSED <ip>',
    )
    expect(normalizeMessage('mail to ada@example.org bounced')).to.equal('mail to <email> bounced')
    expect(normalizeMessage('object deadbeef42 missing')).to.equal('object <hex> missing')
    expect(normalizeMessage("cannot read properties of undefined (reading 'total')")).not.to.equal(
      normalizeMessage("cannot read properties of undefined (reading 'items')"),
    )
  })

  it('should be a stable hash of its parts', () => {
    expect(computeFingerprint(['a', 'b'])).to.equal(computeFingerprint(['a', 'b']))
    expect(computeFingerprint(['a', 'b'])).not.to.equal(computeFingerprint(['ab']))
  })

  describe('of requests', () => {
    let h: Harness
    beforeEach(() => {
      h = createHarness()
    })
    afterEach(() => h.faultline.close())

    it('should group hand-written errors by route and message template, not by their values', async () => {
      const app = createApp(h.faultline)
      app.get('/orders/:id', (req, res) => {
        req.log.error('stock mismatch for order %s', req.params.id)
        res.status(500).end()
      })
      app.get('/carts/:id', (req, res) => {
        req.log.error('stock mismatch for order %s', req.params.id)
        res.status(500).end()
      })
      await request(app).get('/orders/1')
      await request(app).get('/orders/2')
      await request(app).get('/carts/1')
      const [one, two, cart] = await h.waitForReports(3)
      expect(one!.message).to.equal('stock mismatch for order 1')
      expect(one!.fingerprint).to.equal(two!.fingerprint)
      expect(cart!.fingerprint).not.to.equal(one!.fingerprint)
    })

    it('should group 404s of paths no route matched, and tell statuses apart', async () => {
      const app = createApp(h.faultline)
      app.get('/forbidden', (_req, res) => {
        res.sendStatus(403)
      })
      await request(app).get('/products/123/reviews')
      await request(app).get('/products/456/reviews')
      await request(app).get('/forbidden')
      const [a, b, c] = await h.waitForReports(3)
      expect(a!.fingerprint).to.equal(b!.fingerprint)
      expect(c!.fingerprint).not.to.equal(a!.fingerprint)
    })
    it('should group the warnings no route matched into one per method and family, whatever path or query string a client made up', async () => {
      const app = createApp(h.faultline)
      const paths = [
        '/xyz',
        '/abc/def?x=1',
        '/foo?x=2',
        '/foo',
        '/qwerty/uiop/asdf',
        `/${'z'.repeat(3000)}`,
      ]
      for (const path of paths) await request(app).get(path)
      await request(app).post('/xyz')
      await request(app).get('/wp-login.php')
      await request(app).get('/.env?x=1')
      const reports = await h.waitForReports(paths.length + 3)
      const gets = reports.slice(0, paths.length)
      expect(new Set(gets.map((r) => r.fingerprint)).size).to.equal(1)
      // each occurrence still says which path it asked for
      expect(gets.map((r) => r.request!.url.slice(0, 20))).to.deep.equal(
        paths.map((p) => p.slice(0, 20)),
      )
      const [post, probe, otherProbe] = reports.slice(paths.length)
      expect(post!.fingerprint).not.to.equal(gets[0]!.fingerprint)
      expect(probe!.suspicious).to.be.a('string')
      expect(probe!.fingerprint).to.equal(otherProbe!.fingerprint)
      expect(probe!.fingerprint).not.to.equal(gets[0]!.fingerprint)
      const listed = await h.faultline.issues({ kind: 'warning' })
      expect(listed.issues.map((i) => i.title).sort()).to.deep.equal(
        [
          '404 Not Found — GET <unmatched path>',
          '404 Not Found — POST <unmatched path>',
          'probe path: a file only scanners ask for — GET <unmatched path>',
        ].sort(),
      )
      expect(listed.issues.find((i) => i.title.startsWith('404 Not Found — GET'))!.count).to.equal(
        paths.length,
      )
    })

    it('should keep the route of a 404 a route answered, and the path of an error no route matched, in their fingerprints', async () => {
      const app = createApp(h.faultline)
      app.get('/orders/:id', (_req, res) => {
        res.status(404).end()
      })
      app.use('/legacy', (_req, res) => {
        res.status(502).end()
      })
      await request(app).get('/orders/abc')
      await request(app).get('/orders/def?x=1')
      await request(app).get('/nothing-here')
      await request(app).get('/legacy/alpha')
      await request(app).get('/legacy/bravo?x=1')
      const [a, b, unmatched, alpha, bravo] = await h.waitForReports(5)
      expect(a!.fingerprint).to.equal(b!.fingerprint)
      expect(a!.fingerprint).to.equal(computeFingerprint(['warning', 'GET /orders/:id', '404', '']))
      expect(unmatched!.fingerprint).not.to.equal(a!.fingerprint)
      // errors are fingerprinted exactly as before: by their normalised path
      expect(alpha!.kind).to.equal('error')
      expect(alpha!.fingerprint).to.equal(computeFingerprint(['error', 'GET /legacy/alpha', '502']))
      expect(bravo!.fingerprint).to.equal(computeFingerprint(['error', 'GET /legacy/bravo', '502']))
    })
  })
})
