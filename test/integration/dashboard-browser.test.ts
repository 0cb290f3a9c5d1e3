/**
 * The incident view as a person sees it, in headless Chromium (Debian's
 * package, see support/browser-setup.ts), against a real app on 127.0.0.1.
 *
 * Screenshots go to a temporary directory on every run; with
 * UPDATE_SCREENSHOTS=1 they are also written to docs/dashboard-*.png.
 */
import { expect } from 'chai'
import express from 'express'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { createDashboard } from '../../lib/dashboard/index.js'
import { getState } from '../../lib/middleware/request-state.js'
import type { Report } from '../../lib/index.js'
import { ensureChromium, launchBrowser, type LaunchedBrowser } from '../support/browser-setup.js'
import { listen, sleep } from '../helpers.js'
import {
  HOSTILE,
  MOUNT,
  OPS_BASIC,
  startDashboardSite,
  type DashboardSite,
} from '../fixtures/dashboard-app.js'
import { seedDemoStore } from '../fixtures/dashboard-demo.js'

const DOCS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'docs')
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1'

interface Opened {
  page: Page
  status: number
  /** `securitypolicyviolation` events and console lines mentioning a CSP. */
  violations: string[]
  consoleErrors: string[]
}

describe('incident view in a real browser (headless Chromium)', function () {
  let browser: LaunchedBrowser | undefined
  let site: DashboardSite
  let shots: string
  const pages: Page[] = []

  before(async function () {
    this.timeout(120_000)
    browser = await launchBrowser(await ensureChromium())
    shots = await mkdtemp(join(tmpdir(), 'faultline-dashboard-shots-'))
  })

  beforeEach(async function () {
    site = await startDashboardSite()
  })

  afterEach(async function () {
    await Promise.all(pages.splice(0).map((page) => page.close()))
    await browser?.context.clearCookies()
    await site.close()
  })

  after(async function () {
    await browser?.close()
    if (shots) await rm(shots, { recursive: true, force: true })
  })

  /** A page that sends the ops credentials (or none) and records every CSP complaint. */
  async function newPage(
    authorized = true,
  ): Promise<{ page: Page; opened: Omit<Opened, 'page' | 'status'> }> {
    if (!browser) throw new Error('no browser: the before hook failed')
    const page = await browser.context.newPage()
    pages.push(page)
    const opened = { violations: [] as string[], consoleErrors: [] as string[] }
    page.on('console', (line) => {
      if (/Content Security Policy/i.test(line.text())) opened.violations.push(line.text())
      if (
        line.type() === 'error' &&
        !/favicon|status of 404/.test(`${line.location().url} ${line.text()}`)
      )
        opened.consoleErrors.push(line.text())
    })
    page.on('pageerror', (error) => opened.consoleErrors.push(error.message))
    // injected by the driver, so the page's CSP does not apply to it
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => (window.__violations ??= []).push(e.violatedDirective + ' ' + e.blockedURI))",
    )
    if (authorized) await page.setExtraHTTPHeaders({ Authorization: OPS_BASIC })
    return { page, opened }
  }

  async function open(path: string, authorized = true): Promise<Opened> {
    const { page, opened } = await newPage(authorized)
    const response = await page.goto(`${site.url}${path}`, { waitUntil: 'load' })
    return { page, status: response?.status() ?? 0, ...opened }
  }

  async function violationsOf(opened: Opened): Promise<string[]> {
    const events = (await opened.page.evaluate('window.__violations ?? []')) as string[]
    return [...events, ...opened.violations]
  }

  /** Fires requests at the app and waits until the store counted them all. */
  async function cause(paths: string[], headers: Record<string, string> = {}): Promise<string[]> {
    const ids: string[] = []
    for (const path of paths) {
      const res = await fetch(`${site.url}${path}`, { headers })
      ids.push(res.headers.get('x-incident-id') ?? '')
      await res.arrayBuffer()
    }
    const deadline = Date.now() + 3000
    for (;;) {
      const { issues } = await site.faultline.issues({ limit: 500 })
      if (issues.reduce((sum, i) => sum + i.count, 0) >= paths.length) return ids
      if (Date.now() > deadline) throw new Error('the store never counted the reports')
      await sleep(10)
    }
  }

  async function rows(page: Page): Promise<Array<{ title: string; count: number; bars: number }>> {
    return (await page.evaluate(`[...document.querySelectorAll('table.issues tbody tr')].map((tr) => ({
      title: tr.querySelector('td.title').innerText,
      count: Number(tr.querySelector('td.count').innerText),
      bars: tr.querySelectorAll('svg.h24 rect').length,
    }))`)) as Array<{ title: string; count: number; bars: number }>
  }

  it('should list each fingerprint once with the right count and a sparkline', async function () {
    await cause([
      '/orders/1',
      '/orders/2',
      '/orders/3',
      '/errors/alpha',
      '/errors/bravo',
      '/errors/bravo',
    ])
    const opened = await open(`${MOUNT}/`)
    expect(opened.status).to.equal(200)
    const listed = await rows(opened.page)
    expect(listed.map((r) => r.count).sort()).to.deep.equal([1, 2, 3])
    expect(listed.map((r) => r.title)).to.include.members([
      'Error: the alpha service failed',
      'Error: the bravo service failed',
    ])
    expect(listed.find((r) => r.title.startsWith('TypeError: order'))?.count).to.equal(3)
    for (const row of listed) expect(row.bars, row.title).to.equal(1)
    expect(await opened.page.evaluate("document.querySelectorAll('svg.d14').length")).to.equal(3)
    expect(await violationsOf(opened)).to.deep.equal([])
    expect(opened.consoleErrors).to.deep.equal([])
  })

  it('should open an incident typed in lower case without dashes from the search box', async function () {
    const [id] = await cause(['/orders/77'])
    const opened = await open(`${MOUNT}`)
    await opened.page.fill('#incident-id', id!.replace(/-/g, '').toLowerCase())
    await Promise.all([
      opened.page.waitForURL(/incidents\?id=/),
      opened.page.press('#incident-id', 'Enter'),
    ])
    const text = (await opened.page.evaluate('document.body.innerText')) as string
    expect(text).to.include(`Incident ${id}`)
    expect(text).to.include('GET /orders/77')
    expect(text).to.include('TypeError: order 77 has no line items')
    expect(await violationsOf(opened)).to.deep.equal([])
  })

  it('should resolve an error, then mark it a regression when it happens again', async function () {
    await cause(['/orders/1'])
    const opened = await open(`${MOUNT}/`)
    await Promise.all([opened.page.waitForURL(/issues\//), opened.page.click('td.title a')])
    await Promise.all([
      opened.page.waitForLoadState('load'),
      opened.page.click('button[value="resolve"]'),
    ])
    expect(await opened.page.innerText('dl.facts .status')).to.equal('resolved')
    await cause(['/orders/2'])
    await opened.page.reload()
    expect(await opened.page.innerText('dl.facts .status')).to.equal('regressed')
    expect(await opened.page.innerText('dl.facts')).to.include(
      'happened again after it was resolved',
    )
    await opened.page.goto(`${site.url}${MOUNT}/`)
    expect(await opened.page.innerText('table.issues .status')).to.equal('regressed')
    expect(await violationsOf(opened)).to.deep.equal([])
  })

  it("should mute for an hour and unmute from the page's own buttons, and report none of it", async function () {
    await cause(['/orders/1'])
    const before = site.reports.length
    const opened = await open(`${MOUNT}/`)
    await Promise.all([opened.page.waitForURL(/issues\//), opened.page.click('td.title a')])
    await Promise.all([
      opened.page.waitForLoadState('load'),
      opened.page.click('button[value="mute-hour"]'),
    ])
    expect(await opened.page.innerText('dl.facts')).to.include('muted until')
    const [muted] = (await site.faultline.issues({ status: 'muted' })).issues
    const left = Date.parse(muted!.mutedUntil!) - Date.now()
    expect(left).to.be.within(59 * 60_000, 60 * 60_000 + 1000)
    await Promise.all([
      opened.page.waitForLoadState('load'),
      opened.page.click('button[value="unmute"]'),
    ])
    expect(await opened.page.innerText('dl.facts')).to.not.include('muted until')
    expect((await site.faultline.issues({ status: 'muted' })).total).to.equal(0)
    expect(await violationsOf(opened)).to.deep.equal([])
    // the view's own pages and forms are not probes: nothing was reported
    expect(site.reports.slice(before)).to.deep.equal([])
  })

  it('should render hostile messages, URLs and User-Agents as text, run nothing and break no CSP rule', async function () {
    const [id] = await cause([HOSTILE.path], { 'User-Agent': HOSTILE.userAgent })
    const [issue] = (await site.faultline.issues()).issues
    for (const path of ['/', `/issues/${issue!.fingerprint}`, `/incidents/${id}`]) {
      const opened = await open(`${MOUNT}${path}`)
      expect(opened.status, path).to.equal(200)
      await opened.page.waitForLoadState('networkidle')
      expect(await opened.page.evaluate('typeof window.__pwned'), path).to.equal('undefined')
      expect(
        await opened.page.evaluate(
          "document.querySelectorAll('script,img,iframe,object,embed').length",
        ),
      ).to.equal(0)
      expect(
        await opened.page.evaluate(
          "[...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length",
        ),
      ).to.equal(0)
      const text = (await opened.page.evaluate('document.body.innerText')) as string
      expect(text, path).to.include(HOSTILE.message)
      if (path !== '/') expect(text, path).to.include(HOSTILE.userAgent)
      expect(await violationsOf(opened), path).to.deep.equal([])
      expect(opened.consoleErrors, path).to.deep.equal([])
      // the view's own stylesheet was allowed by its hash
      expect(await opened.page.evaluate('getComputedStyle(document.body).margin')).to.equal('0px')
    }
  })

  it('should refuse a POST from another site', async function () {
    await cause(['/orders/1'])
    const [issue] = (await site.faultline.issues()).issues
    // the view's own page first, so the browser holds the CSRF cookie the attacker hopes to ride on
    const own = await open(`${MOUNT}/issues/${issue!.fingerprint}`)
    const token = await own.page.getAttribute('input[name="csrf"]', 'value')
    // localhost is another site than 127.0.0.1: its form posts cross-site, with the browser's credentials
    const evil = express()
    evil.get('/', (_req, res) => {
      res
        .type('html')
        .send(
          `<form method="post" action="${site.url}${MOUNT}/issues/${issue!.fingerprint}"><input name="action" value="resolve"><input name="csrf" value="${token}"></form><script>document.forms[0].submit()</script>`,
        )
    })
    const attacker = await listen(evil)
    try {
      const { page } = await newPage()
      const answered = page.waitForResponse((r) => r.request().method() === 'POST')
      await page.goto(`http://localhost:${attacker.port}/`)
      const response = await answered
      expect(response.status()).to.equal(403)
      expect((await site.faultline.issue(issue!.fingerprint))!.status).to.equal('open')
    } finally {
      await attacker.close()
    }
  })

  it('should answer an unauthorised browser with a 404 and no data', async function () {
    await cause(['/orders/1'])
    const [issue] = (await site.faultline.issues()).issues
    for (const path of ['/', `/issues/${issue!.fingerprint}`, '/api/issues']) {
      const opened = await open(`${MOUNT}${path}`, false)
      expect(opened.status, path).to.equal(404)
      const text = (await opened.page.evaluate('document.body.innerText')) as string
      expect(text.trim()).to.equal('Not Found')
    }
  })

  it('should take the screenshots of the list and of an error page', async function () {
    this.timeout(60_000)
    const reports: Report[] = []
    site.faultline.on('report', (report) => reports.push(report))
    await cause([
      '/orders/1042',
      '/errors/alpha',
      '/errors/bravo',
      '/no-such-page',
      '/errors/charlie',
    ])
    const store = await seedDemoStore(reports.slice(0, 5))
    const [, burst, , , rare] = (await store.issues({ limit: 5 })).issues.sort((a, b) =>
      a.title.localeCompare(b.title),
    )
    if (burst) await store.resolve(burst.fingerprint)
    if (rare)
      await store.linkTicket(rare.fingerprint, {
        id: '214',
        url: 'https://tracker.example/issues/214',
      })
    const app = express()
    app.use(site.faultline.requestHandler())
    app.use(
      MOUNT,
      createDashboard(
        store,
        { authorize: () => true },
        { quiet: (req) => void (getState(req).quiet = true) },
      ),
    )
    const demo = await listen(app)
    try {
      const { page } = await newPage()
      await page.goto(`${demo.url}${MOUNT}/`)
      const listShot = join(shots, 'dashboard-list.png')
      await page.screenshot({ path: listShot, fullPage: true })
      const typeError = (await store.issues({ limit: 10 })).issues.find((i) =>
        i.title.startsWith('TypeError'),
      )!
      await page.goto(`${demo.url}${MOUNT}/issues/${typeError.fingerprint}`)
      const issueShot = join(shots, 'dashboard-issue.png')
      // the top of the page: facts, actions, charts and the report; the 50 occurrences below add nothing
      await page.screenshot({
        path: issueShot,
        fullPage: true,
        clip: { x: 0, y: 0, width: 1100, height: 1500 },
      })
      for (const shot of [listShot, issueShot]) {
        const png = await readFile(shot)
        expect(png.subarray(1, 4).toString()).to.equal('PNG')
        expect(png.readUInt32BE(16)).to.equal(1100)
      }
      if (UPDATE_SCREENSHOTS) {
        await copyFile(listShot, join(DOCS, 'dashboard-list.png'))
        await copyFile(issueShot, join(DOCS, 'dashboard-issue.png'))
      }
    } finally {
      await demo.close()
    }
  })
})
