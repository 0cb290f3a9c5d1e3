/**
 * A scanner's made-up paths against the incident view: its 404s, each within
 * the warning limit of its client, must not push a real traceback out.
 */
import { expect } from 'chai'
import express from 'express'
import { Agent, get as httpGet } from 'node:http'
import { createFaultline, type Faultline, type Report } from '../lib/index.js'
import { listen, waitUntil } from './helpers.js'

const MOUNT = '/_faultline'
const OPS = 'role=ops'
const CLIENTS = 110
// the default warning limit: 20 per client and minute, so every one of them is reported and recorded
const PER_CLIENT = 20
const BATCH = 25

/** A made-up word per number, letters only: no digit for the path normaliser to fold away. */
function madeUpWord(n: number): string {
  let word = ''
  for (let rest = n + 26 * 26; rest > 0; rest = Math.floor(rest / 26))
    word += String.fromCharCode(97 + (rest % 26))
  return word
}

/** Scanner paths of every shape: a page, a script, a nested path, with and without a query string. */
function madeUpPath(n: number): string {
  const word = madeUpWord(n)
  switch (n % 4) {
    case 0:
      return `/${word}`
    case 1:
      return `/${word}.php`
    case 2:
      return `/${word}/${madeUpWord(n + 7)}?id=${n}`
    default:
      return `/${word}?q=${word}`
  }
}

interface Site {
  faultline: Faultline
  url: string
  reports: Report[]
  close(): Promise<void>
}

async function startSite(): Promise<Site> {
  const faultline = createFaultline({
    appName: 'shop',
    env: false,
    debug: false,
    throwErrors: false,
    stderr: false,
    spoolDir: false,
  })
  const reports: Report[] = []
  faultline.on('report', (report) => reports.push(report))
  const app = express()
  // behind a proxy on loopback: each client is told apart by X-Forwarded-For, as the warning limit does
  app.set('trust proxy', 'loopback')
  app.use(faultline.requestHandler())
  app.use(
    MOUNT,
    faultline.dashboard({
      authorize: (req) => (req.headers.cookie ?? '').split(/;\s*/).includes(OPS),
    }),
  )
  app.get('/checkout', () => {
    throw new TypeError('cart.total is not a function')
  })
  app.use(faultline.notFound())
  app.use(faultline.errorHandler())
  const server = await listen(app)
  return {
    faultline,
    url: server.url,
    reports,
    close: async () => {
      await server.close()
      await faultline.close()
    },
  }
}

/** One GET on a kept-alive connection; resolves with the status once the body is read. */
function get(agent: Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/** Sends `total` requests for made-up paths, a few at a time, client `n % CLIENTS` each. */
async function scan(url: string, total: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: BATCH })
  try {
    for (let start = 0; start < total; start += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, total - start) }, (_, i) => start + i)
      const statuses = await Promise.all(
        batch.map((n) => {
          const client = n % CLIENTS
          return get(agent, `${url}${madeUpPath(n)}`, {
            'X-Forwarded-For': `198.51.${client >> 8}.${client & 255}`,
          })
        }),
      )
      expect(statuses.every((status) => status === 404)).to.equal(true)
    }
  } finally {
    agent.destroy()
  }
}

describe('incident view under a scan of made-up paths', function () {
  let site: Site

  beforeEach(async function () {
    site = await startSite()
  })

  afterEach(async function () {
    await site.close()
  })

  const ops = (path: string) => fetch(`${site.url}${MOUNT}${path}`, { headers: { Cookie: OPS } })

  it('should still show a real traceback, its page and its incident, after 2 200 404s from 110 clients', async function () {
    // a few seconds on an idle machine; minutes are left for a loaded one
    this.timeout(120_000)
    const boom = await fetch(`${site.url}/checkout`)
    expect(boom.status).to.equal(500)
    const incidentId = boom.headers.get('x-incident-id')!
    const traceback = await waitUntil(
      () => site.reports.find((r) => r.kind === 'traceback'),
      10_000,
      'the traceback',
    )

    await scan(site.url, CLIENTS * PER_CLIENT)
    // every 404 was within its client's limit: all were reported, none held back
    await waitUntil(
      () => (site.reports.filter((r) => r.status === 404).length >= 2200 ? true : undefined),
      10_000,
      'the 2 200 warnings',
    )

    const issuePage = await ops(`/issues/${traceback.fingerprint}`)
    expect(issuePage.status).to.equal(200)
    expect(await issuePage.text()).to.include('cart.total is not a function')
    const incidentPage = await ops(`/incidents/${incidentId}`)
    expect(incidentPage.status).to.equal(200)
    expect(await incidentPage.text()).to.include('cart.total is not a function')

    // the scan is a few issues ("404 on unmatched paths", probes), every request counted in them
    const { issues } = await site.faultline.issues({ kind: 'warning', limit: 500 })
    expect(issues.length).to.be.within(1, 4)
    expect(issues.reduce((sum, issue) => sum + issue.count, 0)).to.equal(2200)
    for (const issue of issues) expect(issue.title).to.include('<unmatched path>')
    // each occurrence keeps the path it asked for
    const detail = await site.faultline.issue(issues[0]!.fingerprint)
    expect(new Set(detail!.occurrences.map((o) => o.url)).size).to.equal(50)
  })
})
