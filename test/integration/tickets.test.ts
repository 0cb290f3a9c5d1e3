import { expect } from 'chai'
import request from 'supertest'
import { TicketTransport, type TicketStats } from '../../transports/ticket.js'
import { createApp, createHarness, type Harness } from '../helpers.js'
import { runScript } from '../support/processes.js'
import { localTracker, type SeenTicket, type TrackerUnderTest } from '../support/trackers.js'
import { redmineTracker } from '../support/redmine-tracker.js'
import { tracTracker } from '../support/trac-tracker.js'
import { startSilentServer } from '../support/smtp.js'

function transportOf(h: Harness): TicketTransport {
  return h.faultline.logger.transports.find((t) => t instanceof TicketTransport) as TicketTransport
}

/** How many occurrences the comments account for ("12 more occurrences since …"). */
function countedIn(ticket: SeenTicket): number {
  return ticket.comments.reduce(
    (sum, c) => sum + Number(/^(\d+) more occurrences? since/m.exec(c)?.[1] ?? 0),
    0,
  )
}

function raise(h: Harness, kind: string, message = 'stock count went negative'): string {
  return h.faultline.capture(Object.assign(new Error(message), { name: `${kind}Error` }))
}

/** The batching window the tests use: short, but longer than the tracker takes to file a ticket. */
function windowOf(tracker: TrackerUnderTest): number {
  return tracker.windowMs ?? 300
}

export function ticketBehaviours(makeTracker: () => Promise<TrackerUnderTest>): void {
  let tracker: TrackerUnderTest
  let h: Harness | undefined
  before(async function () {
    this.timeout(240_000)
    tracker = await makeTracker()
  })
  after(() => tracker?.dispose())
  beforeEach(() => tracker.reset())
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 10_000 })
    h = undefined
  })

  function harness(options: Record<string, unknown> = {}): Harness {
    const setting = tracker.setting()
    h = createHarness({
      tickets: {
        ...(typeof setting === 'string' ? { url: setting } : setting),
        digestWindowMs: windowOf(tracker),
        ...options,
      },
    })
    return h
  }

  it('should file one ticket for a new error, with what a developer needs', async () => {
    const t = harness()
    const app = createApp(t.faultline)
    app.get('/orders/:id', () => {
      throw new Error('cannot reserve stock', { cause: new Error('warehouse API answered 503') })
    })
    app.use(t.faultline.errorHandler())
    await request(app)
      .get('/orders/42?token=ticket-secret-123')
      .set('Cookie', 'sid=ticket-cookie-secret')
      .expect(500)
    const [report] = await t.waitForReports(1)
    const [ticket] = await pollTickets(1)
    expect(ticket!.title).to.contain('Error: cannot reserve stock — GET /orders/:id')
    expect(ticket!.body).to.contain(`First incident: ${report!.id}`)
    expect(ticket!.body).to.contain(`Fingerprint: ${report!.fingerprint}`)
    expect(ticket!.body).to.contain('Caused by: Error: warehouse API answered 503')
    expect(ticket!.body).to.contain(`host ${report!.host}`)
    expect(ticket!.body).to.contain('First seen: ')
    expect(ticket!.body).to.contain('cookie: [scrubbed]')
    for (const secret of ['ticket-secret-123', 'ticket-cookie-secret'])
      expect(JSON.stringify(ticket)).not.to.contain(secret)
    expect(ticket!.closed).to.equal(false)
  })

  async function pollTickets(count: number, timeoutMs = 15_000): Promise<SeenTicket[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const tickets = await tracker.tickets()
      if (tickets.length >= count) return tickets
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} tickets (have ${tickets.length})`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async function pollComments(count: number, timeoutMs = 15_000): Promise<SeenTicket> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const [ticket] = await tracker.tickets()
      if (ticket && ticket.comments.length >= count) return ticket
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${count} comments (have ${ticket?.comments.length ?? 'no ticket'})`,
        )
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  it('should batch later occurrences into one comment per window', async () => {
    const t = harness()
    const first = raise(t, 'Batch')
    await pollTickets(1)
    const later: string[] = []
    for (let i = 0; i < 12; i++) later.push(raise(t, 'Batch'))
    const ticket = await pollComments(1)
    await new Promise((resolve) => setTimeout(resolve, 2 * windowOf(tracker) + 100))
    const settled = (await tracker.tickets())[0]!
    expect(await tracker.tickets()).to.have.length(1)
    expect(settled.comments, JSON.stringify(settled.comments)).to.have.length(1)
    expect(ticket.comments[0]).to.match(/^12 more occurrences since \S+; last seen \S+\./)
    for (const id of later) expect(ticket.comments[0]).to.contain(id)
    expect(ticket.comments[0]).not.to.contain(first)
  })

  it('should reopen a closed ticket when the error comes back', async () => {
    const t = harness()
    raise(t, 'Regressed')
    const [ticket] = await pollTickets(1)
    await t.faultline.close()
    await tracker.closeTicket(ticket!.id)
    expect((await tracker.tickets())[0]!.closed).to.equal(true)
    const again = harness()
    const id = raise(again, 'Regressed')
    const reopened = await pollComments(1)
    expect(reopened.closed, JSON.stringify(reopened)).to.equal(false)
    expect(reopened.comments.at(-1)).to.match(
      new RegExp(`^Regression: seen again at \\S+ \\(incident ${id}\\)`),
    )
    expect(await tracker.tickets()).to.have.length(1)
  })

  it('should make one ticket of 200 occurrences from two processes at once, and count every one', async function () {
    this.timeout(120_000)
    const startAt = String(Date.now() + 2500)
    const setting = tracker.setting()
    const tickets = JSON.stringify({
      ...(typeof setting === 'string' ? { url: setting } : setting),
      digestWindowMs: windowOf(tracker),
    })
    const outputs = await Promise.all(
      [1, 2].map(() => runScript('ticket-child.ts', [tickets, '100', startAt])),
    )
    const stats = outputs.map((o) => JSON.parse(o.stdout) as TicketStats)
    const filed = await tracker.tickets()
    expect(filed).to.have.length(1)
    expect(stats.reduce((sum, s) => sum + s.created, 0)).to.equal(1)
    expect(1 + countedIn(filed[0]!)).to.equal(200)
  })

  it('should hold a storm of 5,000 occurrences of 3 errors to 3 tickets and a few comments', async function () {
    this.timeout(60_000)
    const t = harness()
    const started = Date.now()
    for (let i = 0; i < 5000; i++) {
      raise(t, ['Alpha', 'Beta', 'Gamma'][i % 3]!)
      if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await transportOf(t).flush(30_000)
    const elapsed = Date.now() - started
    const tickets = await tracker.tickets()
    expect(tickets).to.have.length(3)
    const comments = tickets.reduce((sum, ticket) => sum + ticket.comments.length, 0)
    // at most one comment per ticket per window, plus the final flush
    expect(comments).to.be.at.most(3 * (Math.ceil(elapsed / windowOf(tracker)) + 1))
    expect(tickets.reduce((sum, ticket) => sum + 1 + countedIn(ticket), 0)).to.equal(5000)
  })
}

describe('tickets', () => {
  describe('on the local tracker', () => ticketBehaviours(async () => localTracker()))
  describe('on Trac', () => ticketBehaviours(tracTracker))
  describe('on a real Redmine', () => {
    ticketBehaviours(redmineTracker)

    describe('with a wrong API key', () => {
      let tracker: Awaited<ReturnType<typeof redmineTracker>>
      before(async function () {
        this.timeout(240_000)
        tracker = await redmineTracker()
      })
      after(() => tracker?.dispose())

      it('should say once what to fix, file nothing, and drop the refused work at once', async () => {
        const setting = tracker.setting() as { url: string; redmine: { fingerprintField: number } }
        const wrong = {
          ...setting,
          url: setting.url.replace(tracker.redmine.apiKey, '0'.repeat(40)),
        }
        let stderr = ''
        const original = process.stderr.write.bind(process.stderr)
        process.stderr.write = ((chunk: string) => (
          (stderr += String(chunk)),
          true
        )) as typeof process.stderr.write
        const t = createHarness({ tickets: { ...wrong, digestWindowMs: 300 }, file: undefined })
        try {
          const ids = [raise(t, 'WrongKey'), raise(t, 'AlsoWrongKey')]
          const deadline = Date.now() + 20_000
          while (transportOf(t).stats().dropped < 2 && Date.now() < deadline)
            await new Promise((resolve) => setTimeout(resolve, 50))
          stderr += t.notices.join('')
          expect(stderr).to.contain(
            'Redmine refused the API key (401 Unauthorized): check the key in the tickets setting',
          )
          expect(stderr.split('Redmine refused the API key').length - 1).to.equal(1)
          expect(await tracker.tickets()).to.have.length(0)
          expect(transportOf(t).stats()).to.include({ dropped: 2, queued: 0, retried: 0 })
          expect(t.reports.map((r) => r.id)).to.deep.equal(ids)
        } finally {
          await t.faultline.close({ timeoutMs: 300 })
          process.stderr.write = original
        }
        expect(stderr + t.notices.join('')).not.to.contain('still undelivered at shutdown')
      })
    })
  })

  it('should not slow requests down when the tracker accepts connections and never answers', async function () {
    this.timeout(60_000)
    const silent = await startSilentServer()
    const off = createHarness()
    const stuck = createHarness({
      tickets: `redmine+http://KEY@127.0.0.1:${silent.port}/projects/shop`,
    })
    const elapsed: number[] = []
    try {
      for (const t of [off, stuck, off, stuck]) {
        const app = createApp(t.faultline)
        app.get('/boom', () => {
          throw new Error('tracker test')
        })
        app.use(t.faultline.errorHandler())
        const agent = request(app)
        const started = process.hrtime.bigint()
        for (let i = 0; i < 30; i++) await agent.get('/boom').expect(500)
        elapsed.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
    } finally {
      await Promise.all([
        off.faultline.close({ timeoutMs: 300 }),
        stuck.faultline.close({ timeoutMs: 300 }),
      ])
      await silent.close()
    }
    expect((elapsed[1]! + elapsed[3]!) / (elapsed[0]! + elapsed[2]!)).to.be.below(2)
  })
})
