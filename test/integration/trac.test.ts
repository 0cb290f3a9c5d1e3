import { expect } from 'chai'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { createFaultline } from '../../lib/index.js'
import { TicketTransport } from '../../transports/ticket.js'
import { TicketError } from '../../transports/ticket/adapter.js'
import { TracAdapter } from '../../transports/ticket/trac.js'
import { captureStderr, createApp, createHarness, waitUntil, type Harness } from '../helpers.js'
import { spawnScript, type RunningScript } from '../support/processes.js'
import { startRedis } from '../support/redis.js'
import { startTrac, type Trac } from '../support/trac.js'
import { readableTrac, tracSetting } from '../support/trac-tracker.js'

function transportOf(h: Harness): TicketTransport {
  return h.faultline.logger.transports.find((t) => t instanceof TicketTransport) as TicketTransport
}

function counted(comments: string[]): number {
  return comments.reduce(
    (sum, c) => sum + Number(/^(\d+) more occurrences? since/m.exec(readableTrac(c))?.[1] ?? 0),
    0,
  )
}

/** The report a fake error would make, enough for an adapter's create(). */
function newTicket(fingerprint: string) {
  return {
    fingerprint,
    title: `title ${fingerprint}`,
    body: `body ${fingerprint}`,
    report: {} as never,
  }
}

describe('tickets on Trac', function () {
  this.timeout(60_000)
  let trac: Trac
  let h: Harness | undefined
  before(async function () {
    this.timeout(300_000)
    trac = await startTrac()
  })
  after(() => trac?.close())
  beforeEach(() => trac.deleteAll())
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 10_000 })
    h = undefined
  })

  const adapter = (extra: Partial<ConstructorParameters<typeof TracAdapter>[0]> = {}) =>
    new TracAdapter({ url: trac.url, user: trac.user, password: trac.password, ...extra })

  it('should find, file, comment on and reopen a ticket by its fingerprint keyword', async () => {
    const a = adapter()
    expect(await a.find('0123456789abcdef')).to.equal(undefined)
    const created = await a.create(newTicket('0123456789abcdef'))
    expect(created).to.include({ closed: false, url: `${trac.url}/ticket/${created.id}` })
    expect(await a.find('0123456789abcdef')).to.deep.include({ id: created.id, closed: false })
    await a.comment(created, 'seen again')
    await trac.closeTicket(Number(created.id))
    expect(await a.find('0123456789abcdef')).to.deep.include({ id: created.id, closed: true })
    await a.reopen(created, 'came back')
    expect(await a.find('0123456789abcdef')).to.deep.include({ closed: false })
    expect((await trac.comments(Number(created.id))).map(readableTrac)).to.deep.equal([
      'seen again',
      'came back',
    ])
  })

  it('should never take the ticket of a fingerprint that contains or is contained in another', async () => {
    const a = adapter()
    const long = await a.create(newTicket('abcdef0123456789'))
    expect(await a.find('abcdef012345678')).to.equal(undefined)
    expect(await a.find('bcdef0123456789')).to.equal(undefined)
    const short = await a.create(newTicket('abcdef012345678'))
    expect((await a.find('abcdef0123456789'))?.id).to.equal(long.id)
    expect((await a.find('abcdef012345678'))?.id).to.equal(short.id)
  })

  it('should land every comment when several processes change a ticket at once (a stale _ts read again)', async () => {
    const a = adapter()
    const created = await a.create(newTicket('feedfacefeedface'))
    await Promise.all(Array.from({ length: 4 }, (_, i) => adapter().comment(created, `note ${i}`)))
    const notes = (await trac.comments(Number(created.id))).map(readableTrac).sort()
    expect(notes).to.deep.equal(Array.from({ length: 4 }, (_, i) => `note ${i}`))
  })

  it('should refuse for good an unknown ticket type or field, and a user without ticket permissions', async () => {
    const refusals: unknown[] = []
    for (const [a, fp] of [
      [adapter({ type: 'bgu' }), '1111111111111111'],
      [adapter({ fields: { severity: 'high' } }), '2222222222222222'],
      [
        new TracAdapter({ url: trac.url, user: 'viewer', password: trac.password }),
        '3333333333333333',
      ],
    ] as const)
      refusals.push(await a.create(newTicket(fp)).catch((err: unknown) => err))
    for (const err of refusals) {
      expect(err).to.be.instanceOf(TicketError)
      expect(err).to.include({ permanent: true })
      expect((err as Error).message).not.to.contain(trac.password)
    }
    expect((refusals[0] as Error).message).to.contain('Trac has no type "bgu"')
    expect((refusals[0] as Error).message).to.contain('defect, enhancement, task')
    expect((refusals[1] as Error).message).to.contain('Trac has no ticket field "severity"')
    expect((refusals[2] as Error).message).to.contain('Trac forbids ticket.create to user "viewer"')
    expect(await trac.tickets()).to.have.length(0)
  })

  it('should say once what to fix for a wrong password, file nothing, retry nothing and never show the password', async () => {
    const wrong = 'wrong-Pa55-word'
    let t: Harness | undefined
    const stderr = await captureStderr(async () => {
      t = createHarness({
        tickets: { ...tracSetting(trac, wrong), digestWindowMs: 300 },
        file: undefined,
      })
      const raise = (kind: string) =>
        t!.faultline.capture(Object.assign(new Error('password test'), { name: `${kind}Error` }))
      raise('WrongPassword')
      raise('AlsoWrongPassword')
      await waitUntil(
        () => (transportOf(t!).stats().dropped >= 2 ? true : undefined),
        20_000,
        'both refused',
      )
      expect(transportOf(t!).stats()).to.include({ dropped: 2, queued: 0, retried: 0 })
      await t!.faultline.close({ timeoutMs: 300 })
    })
    const said = stderr + t!.notices.join('')
    expect(said).to.contain('Trac refused the password of user "bot" (401 Unauthorized)')
    expect(said.split('Trac refused the password').length - 1).to.equal(1)
    expect(said).not.to.contain(wrong)
    expect(said).not.to.contain(encodeURIComponent(wrong))
    expect(await trac.tickets()).to.have.length(0)
  })

  it('should never show the password at start-up, in a setting error or in a report', async () => {
    const url = tracSetting(trac).url
    const nodeEnv = process.env.NODE_ENV
    process.env.NODE_ENV = 'production' // the start-up line is not written in a test run
    const lines = await captureStderr(async () => {
      const f = createFaultline({ env: false, tickets: url })
      await f.close({ timeoutMs: 300 })
    }).finally(() => {
      if (nodeEnv === undefined) delete process.env.NODE_ENV
      else process.env.NODE_ENV = nodeEnv
    })
    expect(lines).to.contain('tickets (trac)')
    expect(lines).not.to.contain(trac.password)
    const bad = [
      `${url}?x=1`,
      url.replace(`${trac.user}:`, ''),
      { url, trac: { tpye: 'defect' } },
      { url, trac: { fields: { status: 'closed' } } },
    ]
    for (const tickets of bad) {
      let message = ''
      try {
        createFaultline({ env: false, tickets } as never)
      } catch (err) {
        message = (err as Error).message
      }
      expect(message, JSON.stringify(tickets)).to.match(/option "tickets(\.trac\.\w+(\.\w+)?)?"/)
      expect(message).not.to.contain(trac.password)
    }
  })

  it('should render hostile text from the request and the error as plain text on the ticket page Trac serves', async function () {
    this.timeout(30_000)
    const hostile = [
      '}}}',
      '{{{#!html',
      '<script>alert(1)</script>',
      '}}}',
      '[[Image(http://evil.example/i.png)]] [[PageOutline]] [[TitleIndex]]',
      '{{{#!html <b>x</b> }}} {{{#!default y}}}',
      '[javascript:alert(1) click] javascript:alert(2)',
      "[http://evil.example/label label] http://evil.example/bare '''bold''' EvilCamelPage",
      '= Heading =',
      '#!html',
      '}}}}} {{{{{',
    ].join('\n')
    h = createHarness({ tickets: { ...tracSetting(trac), digestWindowMs: 300 } })
    const app = createApp(h.faultline)
    app.get('/t', (req) => {
      req.log.error(`logged ${hostile}`)
      throw new Error(`#!html\n${hostile}`)
    })
    app.use(h.faultline.errorHandler())
    await request(app)
      .get('/t')
      .query({ q: '}}} [[Image(http://evil.example/q.png)]]' })
      .set('User-Agent', `UA }}} [javascript:alert(3) x] {{{#!html`)
      .set('Referer', 'http://evil.example/ref?}}}')
      .expect(500)
    await waitUntil(
      () => (transportOf(h!).stats().created >= 1 ? true : undefined),
      15_000,
      'the ticket',
    )
    const [ticket] = await trac.tickets()
    await adapter().comment({ id: String(ticket!.id), closed: false }, `note ${hostile}`)
    const benign = await adapter().create(newTicket('5555555555555555'))
    const page = await trac.ticketPage(ticket!.id)
    const baseline = await trac.ticketPage(Number(benign.id))
    expect(page).not.to.match(/<a[^>]+href="javascript:/i)
    expect(page).not.to.match(/(href|src)="[^"]*evil\.example/i)
    expect(page).not.to.contain('/wiki/EvilCamelPage')
    expect(page).not.to.contain('wiki-toc')
    expect(page).not.to.match(/<script>alert/)
    expect(page).not.to.match(/<h1[^>]*id="Heading"/)
    // every element on the page is one the page of a benign ticket has too
    const elements = (html: string) =>
      new Set([...html.matchAll(/<([a-z][a-z0-9]*)/g)].map((m) => m[1]))
    const extra = [...elements(page)].filter((e) => !elements(baseline).has(e))
    expect(extra).to.deep.equal([])
    // the hostile lines are there, as text inside the code blocks
    const blocks = [...page.matchAll(/<pre class="wiki">([\s\S]*?)<\/pre>/g)].map((m) => m[1]!)
    expect(blocks.length).to.be.at.least(2)
    const text = blocks
      .join('\n')
      .replace(/\u200b/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&#34;|&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
    for (const line of hostile.split('\n')) expect(text).to.contain(line)
    expect(text).to.contain('UA }}} [javascript:alert(3) x] {{{#!html')
  })

  it('should file every ticket once and count every occurrence when Trac is stopped mid-storm and restarted', async function () {
    this.timeout(120_000)
    const spool = mkdtempSync(join(tmpdir(), 'faultline-trac-spool-'))
    try {
      h = createHarness({ spoolDir: spool, tickets: { ...tracSetting(trac), digestWindowMs: 500 } })
      const app = createApp(h.faultline)
      app.get('/fail/:kind', (req) => {
        throw Object.assign(new Error('trac outage test'), { name: `${req.params.kind}Error` })
      })
      app.use(h.faultline.errorHandler())
      const agent = request(app)
      let waiting = 0
      for (let round = 0; round < 3; round++) {
        if (round === 1) await trac.stop()
        for (let i = 0; i < 5; i++) expect((await agent.get(`/fail/T${i}`)).status).to.equal(500)
        for (let i = 0; i < 20; i++) await agent.get(`/fail/T${i % 5}`)
        if (round === 1) {
          await new Promise((resolve) => setTimeout(resolve, 1500))
          const stats = transportOf(h).stats()
          waiting = stats.queued
          console.log(
            `      while Trac was down: ${JSON.stringify(stats)}; spool files: ${readdirSync(spool, { recursive: true }).length}`,
          )
        }
        if (round === 2) await trac.start()
      }
      await h.faultline.close({ timeoutMs: 60_000 })
      h = undefined
      console.log(`      Trac restarted in ${trac.timings.restart} s; ${waiting} operations waited`)
      const tickets = await trac.tickets()
      expect(tickets).to.have.length(5)
      const perTicket = await Promise.all(
        tickets.map(async (t) => 1 + counted(await trac.comments(t.id))),
      )
      expect(perTicket).to.deep.equal([15, 15, 15, 15, 15])
      expect(waiting).to.be.greaterThan(0)
    } finally {
      rmSync(spool, { recursive: true, force: true })
    }
  })

  it('should file one ticket per error from four processes sharing Redis, its comments counting every occurrence', async function () {
    this.timeout(120_000)
    const redis = await startRedis()
    const fleet: RunningScript[] = []
    try {
      const env = {
        ...process.env,
        FLEET_STORE: redis.url,
        FLEET_STORE_TIMEOUT_MS: '2000',
        FLEET_TICKETS: tracSetting(trac).url,
        FLEET_WINDOW_MS: '8000',
        FLEET_QUIET: '1',
      }
      const ports = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const script = spawnScript('fleet-app.ts', [], { env })
          fleet.push(script)
          const line = await script.waitForLine((l) => l.startsWith('{"port"'))
          return (JSON.parse(line) as { port: number }).port
        }),
      )
      // 200 of one error and 10 of another, round-robin over the fleet, 8 at a time
      const paths = Array.from({ length: 210 }, (_, i) => (i % 21 === 20 ? '/boom/B' : '/boom/A'))
      let next = 0
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < paths.length; i = next++)
            await (await fetch(`http://127.0.0.1:${ports[i % 4]}${paths[i]}`)).text()
        }),
      )
      for (const script of fleet) script.child.kill('SIGTERM')
      await Promise.all(fleet.map((s) => s.exited))
      const tickets = await trac.tickets()
      const said = fleet.map((s) => s.stderr()).join('')
      expect(tickets, said).to.have.length(2)
      const a = tickets.find((t) => t.summary.includes('fleet error A'))!
      const b = tickets.find((t) => t.summary.includes('fleet error B'))!
      expect(1 + counted(await trac.comments(a.id)), said).to.equal(200)
      expect(1 + counted(await trac.comments(b.id))).to.equal(10)
    } finally {
      for (const script of fleet) if (script.child.exitCode === null) script.child.kill('SIGKILL')
      await redis.stop()
    }
  })
})
