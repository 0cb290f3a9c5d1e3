/**
 * The error pages as a person sees them: served by Express on 127.0.0.1,
 * opened in headless Chromium (Debian's package, see support/browser-setup.ts).
 *
 * Screenshots go to a temporary directory on every run; with
 * UPDATE_SCREENSHOTS=1 the demo pages are also written to docs/, which is
 * the only way these tests change a tracked file.
 */
import { expect } from 'chai'
import express from 'express'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { createFaultline, type Faultline, type Report } from '../../lib/index.js'
import { ensureChromium, launchBrowser, type LaunchedBrowser } from '../support/browser-setup.js'
import { listen, waitUntil } from '../helpers.js'

const THIS_FILE = fileURLToPath(import.meta.url)
const REPO_ROOT = resolve(dirname(THIS_FILE), '..', '..')
const DOCS = join(REPO_ROOT, 'docs')
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1'

/** The thrown message: markup that would set `window.__pwned` if it ever ran. */
const PAYLOAD_MESSAGE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
/** Markup in the path (encoded, as a browser sends it) and in the query. */
const PAYLOAD_PATH =
  '/orders/%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D3%22%3E?q=<script>window.__pwned=4</script>'
const QUERY_PAYLOAD = '<script>window.__pwned=4</script>'
/** A demo request for the screenshots in docs/. */
const DEMO_PATH = '/orders/1042/invoice?currency=EUR'

/** Crockford base32 in three groups of four, as createIncidentId makes them. */
const INCIDENT_ID = /\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b/g

type Mode = 'production' | 'debug'

interface Site {
  faultline: Faultline
  url: string
  reports: Report[]
  /** The Cookie header of every request the app saw, to prove the browser really sent the secret. */
  cookies: Array<string | undefined>
  close(): Promise<void>
}

interface ConsoleLine {
  type: string
  text: string
  url: string
}

interface Visit {
  mode: Mode
  page: Page
  url: string
  status: number
  headers: Record<string, string>
  html: string
  text: string
  console: ConsoleLine[]
  pageErrors: Error[]
  /** `securitypolicyviolation` events the document fired. */
  violations: string[]
  report: Report
}

// -- the demo app behind the screenshots: an order whose line items never arrived

interface Order {
  id: string
  customer: string
  lines?: Array<{ sku: string; quantity: number; unitPrice: number }>
  loadError?: Error
}

async function loadOrder(id: string): Promise<Order> {
  // the inventory service is down, so the order comes back without its line items
  const loadError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7070'), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
  })
  return { id, customer: 'c_2291', loadError }
}

function orderTotal(order: Order): number {
  if (!order.lines)
    throw new TypeError(`order ${order.id} has no line items to total`, { cause: order.loadError })
  return order.lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0)
}

async function startSite(mode: Mode): Promise<Site> {
  const faultline = createFaultline({
    appName: 'shop',
    env: false,
    debug: mode === 'debug',
    throwErrors: false,
    stderr: false,
  })
  const reports: Report[] = []
  const cookies: Array<string | undefined> = []
  faultline.on('report', (report) => reports.push(report))
  const app = express()
  app.use(faultline.requestHandler())
  app.use((req, _res, next) => {
    cookies.push(req.headers.cookie)
    next()
  })
  app.get('/orders/:id', () => {
    throw new Error(PAYLOAD_MESSAGE)
  })
  app.get('/orders/:id/invoice', async (req, res) => {
    const order = await loadOrder(req.params.id)
    res.json({ order: order.id, total: orderTotal(order) })
  })
  app.use(faultline.errorHandler())
  const server = await listen(app)
  return {
    faultline,
    url: server.url,
    reports,
    cookies,
    close: async () => {
      await server.close()
      await faultline.close()
    },
  }
}

/** The console lines a healthy error page may print: its own 500, and a missing favicon. */
function isExpectedConsoleLine(line: ConsoleLine, pageUrl: string): boolean {
  if (line.type !== 'error') return false
  if (
    line.url === pageUrl &&
    /^Failed to load resource: the server responded with a status of 500 \(Internal Server Error\)$/.test(
      line.text,
    )
  )
    return true
  return (
    new URL(line.url || 'about:blank').pathname === '/favicon.ico' &&
    /^Failed to load resource: the server responded with a status of 404\b/.test(line.text)
  )
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex'), 'PNG signature').to.equal('89504e470d0a1a0a')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

describe('error pages in a real browser (headless Chromium)', () => {
  const SECRET = `secret-${randomBytes(12).toString('hex')}`
  const BEARER = `bearer-${randomBytes(12).toString('hex')}`
  let browser: LaunchedBrowser | undefined
  let shots: string
  const sites = new Map<Mode, Site>()
  const pages: Page[] = []

  before(async function () {
    // a fresh machine installs Debian's chromium here, within ensureChromium's own deadline
    this.timeout(120000)
    const executablePath = await ensureChromium()
    browser = await launchBrowser(executablePath)
    shots = await mkdtemp(join(tmpdir(), 'faultline-screenshots-'))
    for (const mode of ['production', 'debug'] as const) sites.set(mode, await startSite(mode))
  })

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()))
    await browser?.context.clearCookies()
  })

  after(async () => {
    await Promise.all([...sites.values()].map((site) => site.close()))
    sites.clear()
    await browser?.close()
    if (shots) await rm(shots, { recursive: true, force: true })
  })

  function site(mode: Mode): Site {
    const found = sites.get(mode)
    if (!found) throw new Error(`no ${mode} site: the before hook failed`)
    return found
  }

  /** Opens `path` on the site with the secret cookie, and gathers everything the page did. */
  async function visit(mode: Mode, path: string): Promise<Visit> {
    if (!browser) throw new Error('no browser: the before hook failed')
    const { url: base, reports } = site(mode)
    await browser.context.addCookies([{ name: 'session', value: SECRET, url: base }])
    const page = await browser.context.newPage()
    pages.push(page)
    const consoleLines: ConsoleLine[] = []
    const pageErrors: Error[] = []
    page.on('console', (message) =>
      consoleLines.push({
        type: message.type(),
        text: message.text(),
        url: message.location().url,
      }),
    )
    page.on('pageerror', (error) => pageErrors.push(error))
    // injected by the browser driver, so the page's CSP does not apply to it
    await page.addInitScript(
      "window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI))",
    )
    await page.setExtraHTTPHeaders({ Authorization: `Bearer ${BEARER}` })
    const response = await page.goto(`${base}${path}`, { waitUntil: 'load' })
    if (!response) throw new Error(`no response for ${path}`)
    const headers = response.headers()
    const id = headers['x-incident-id'] ?? ''
    const report = await waitUntil(
      () => reports.find((r) => r.id === id),
      10_000,
      `the report of incident ${id}`,
    )
    // let late console messages (a favicon, a blocked resource) arrive before anything is judged
    await page.waitForLoadState('networkidle')
    return {
      mode,
      page,
      url: response.url(),
      status: response.status(),
      headers,
      html: (await page.evaluate('document.documentElement.outerHTML')) as string,
      text: (await page.evaluate('document.body.innerText')) as string,
      console: consoleLines,
      pageErrors,
      violations: (await page.evaluate('window.__violations')) as string[],
      report,
    }
  }

  /** What every faultline page must be, in production and in debug mode. */
  async function expectSafePage(visit: Visit, titlePattern: RegExp): Promise<void> {
    const { page } = visit
    expect(visit.status).to.equal(500)
    expect(await page.title()).to.match(titlePattern)
    expect(visit.headers['content-type']).to.equal('text/html; charset=utf-8')
    expect(visit.headers['content-security-policy']).to.match(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/,
    )
    expect(visit.headers['x-content-type-options']).to.equal('nosniff')
    expect(visit.headers['cache-control']).to.equal('no-store')

    // nothing ran, nothing was even parsed as markup
    expect(await page.evaluate('typeof window.__pwned')).to.equal('undefined')
    expect(
      await page.evaluate(
        "document.querySelectorAll('script,img,iframe,object,embed,svg,link,base,meta[http-equiv]').length",
      ),
    ).to.equal(0)
    expect(
      await page.evaluate(
        "[...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length",
      ),
    ).to.equal(0)

    // the console: exactly the page's own 500 line (so the listener works), no CSP report, no error
    const ownStatusLines = visit.console.filter(
      (line) =>
        line.type === 'error' && line.url === visit.url && / status of 500 /.test(line.text),
    )
    expect(ownStatusLines, 'the page\'s own "status of 500" console line').to.have.length(1)
    expect(visit.console.filter((line) => !isExpectedConsoleLine(line, visit.url))).to.deep.equal(
      [],
    )
    expect(
      visit.console.filter((line) => /Content Security Policy/i.test(line.text)),
    ).to.deep.equal([])
    expect(visit.violations, 'securitypolicyviolation events').to.deep.equal([])
    expect(visit.pageErrors.map((e) => e.message)).to.deep.equal([])

    // the page's own style was allowed by its hash
    expect(await page.evaluate('getComputedStyle(document.body).margin')).to.equal('0px')
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).to.equal(
      'rgb(246, 247, 249)',
    )

    // one incident id, the same in the text, the header and the report
    expect(visit.report.id).to.match(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
    expect(visit.headers['x-incident-id']).to.equal(visit.report.id)
    expect(visit.text).to.include(visit.report.id)
    expect([...new Set(visit.text.match(INCIDENT_ID))]).to.deep.equal([visit.report.id])

    // the browser sent the secrets, and the page shows neither
    expect(
      site(visit.mode).cookies.some((c) => c?.includes(SECRET)),
      'the browser sent the session cookie',
    ).to.equal(true)
    expect(visit.html).not.to.include(SECRET)
    expect(visit.html).not.to.include(BEARER)
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    const path = join(shots, name)
    await page.screenshot({ path, fullPage: true })
    const { width, height } = pngSize(await readFile(path))
    expect(width).to.equal(1100)
    expect(height).to.be.at.least(900)
  }

  describe('production page', () => {
    it('should render markup from the error and the URL as nothing, and show only status, reason and incident id', async () => {
      const v = await visit('production', PAYLOAD_PATH)
      await expectSafePage(v, /^500 Internal Server Error$/)
      expect(v.report.message).to.include(PAYLOAD_MESSAGE)
      expect(
        await v.page.evaluate("getComputedStyle(document.querySelector('main')).backgroundColor"),
      ).to.equal('rgb(255, 255, 255)')
      expect(
        await v.page.evaluate(
          "getComputedStyle(document.querySelector('main')).borderTopLeftRadius",
        ),
      ).to.equal('8px')
      expect(v.text).to.include('500 Internal Server Error')
      expect(v.text).to.include('Something went wrong on our side')

      // no message, no stack, no file path, no request detail
      for (const leak of [
        'pwned',
        'onerror',
        '&#60;script',
        'Error:',
        'orders',
        THIS_FILE,
        REPO_ROOT,
        'browser.test',
        'node_modules',
        'node:internal',
      ]) {
        expect(v.html, leak).not.to.include(leak)
      }
      expect(v.html).not.to.match(/\bat .+:\d+:\d+/)
      await screenshot(v.page, 'production-xss.png')
    })

    it('should show a realistic demo error the same way (docs/production-page.png)', async () => {
      const v = await visit('production', DEMO_PATH)
      await expectSafePage(v, /^500 Internal Server Error$/)
      expect(v.report.error?.name).to.equal('TypeError')
      for (const leak of [
        'TypeError',
        'line items',
        'ECONNREFUSED',
        '1042',
        'invoice',
        THIS_FILE,
        REPO_ROOT,
      ])
        expect(v.html, leak).not.to.include(leak)
      await screenshot(v.page, 'production-page.png')
      if (UPDATE_SCREENSHOTS) {
        await mkdir(DOCS, { recursive: true })
        await v.page.screenshot({ path: join(DOCS, 'production-page.png'), fullPage: true })
      }
    })
  })

  describe('debug page', () => {
    it('should show markup from the error and the URL as text and run none of it', async () => {
      const v = await visit('debug', PAYLOAD_PATH)
      await expectSafePage(v, /^500 Internal Server Error: /)
      expect(await v.page.title()).to.include(PAYLOAD_MESSAGE)
      expect(
        await v.page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor"),
      ).to.equal('rgb(122, 16, 32)')

      // the payloads are visible as text: the message in the heading, the query in the request
      expect(await v.page.locator('header h1').innerText()).to.equal(`Error: ${PAYLOAD_MESSAGE}`)
      expect(v.text).to.include(`Error: ${PAYLOAD_MESSAGE}`)
      expect(v.text).to.include(QUERY_PAYLOAD)
      expect(v.text).to.include('/orders/%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D3%22%3E')
      expect(v.text).to.include(v.report.id)
      // stack frames from this file, with their source
      expect(v.text).to.include('browser.test.ts')
      expect(await v.page.locator('ol.frames li .badge.app').count()).to.be.at.least(1)
      expect(v.text).to.include('throw new Error(PAYLOAD_MESSAGE)')
      await screenshot(v.page, 'debug-xss.png')
    })

    it('should show a realistic demo error with its cause, frames and scrubbed request (docs/debug-page.png)', async () => {
      const v = await visit('debug', DEMO_PATH)
      await expectSafePage(v, /^500 Internal Server Error: /)
      expect(await v.page.locator('header h1').innerText()).to.equal(
        'TypeError: order 1042 has no line items to total',
      )
      expect(v.text).to.include('TypeError: order 1042 has no line items to total')
      expect(v.text).to.include('Caused by: Error: connect ECONNREFUSED 127.0.0.1:7070')
      expect(v.text).to.include('ECONNREFUSED')
      expect(v.text).to.include('/orders/1042/invoice?currency=EUR')
      expect(v.text).to.include('/orders/:id/invoice')
      expect(v.text).to.include('Headers (scrubbed)')
      expect(await v.page.locator('ol.frames li .badge.app').count()).to.be.at.least(2)
      await screenshot(v.page, 'debug-page.png')
      if (UPDATE_SCREENSHOTS) {
        await mkdir(DOCS, { recursive: true })
        await v.page.screenshot({ path: join(DOCS, 'debug-page.png'), fullPage: true })
      }
    })
  })
})
