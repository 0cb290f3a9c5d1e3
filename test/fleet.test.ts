import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import type { Express } from 'express'
import { createApp, createHarness, sleep, waitUntil, type Harness } from './helpers.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from './support/smtp.js'
import { LocalCoordination } from '../lib/store/local-coordination.js'
import type { FleetCoordination } from '../lib/store/types.js'
import { MailTransport } from '../transports/mail.js'
import { TicketTransport } from '../transports/ticket.js'
import type { NewTicket, TicketAdapter, TicketRef } from '../transports/ticket/adapter.js'
import type { LocalTicket } from '../transports/ticket/local.js'
import { commentedCount, ticketsIn } from './support/fleet-tickets.js'

// several faultline instances sharing one coordination object: a fleet in one process, as Redis makes one across hosts

const MANAGERS = ['ops@example.org']

interface Member {
  h: Harness
  app: Express
}

function fleetOf(count: number, transport: (coordination: FleetCoordination) => object): Member[] {
  const coordination = new LocalCoordination()
  return Array.from({ length: count }, () => {
    const h = createHarness({ transports: [transport(coordination) as never] })
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw Object.assign(new Error('the one storm'), { name: 'StormError' })
    })
    app.get('/other', () => {
      throw Object.assign(new Error('the other error'), { name: 'OtherError' })
    })
    app.get('/kind/:kind', (req) => {
      throw Object.assign(new Error(`error of kind ${req.params.kind}`), {
        name: `${req.params.kind}Error`,
      })
    })
    app.use(h.faultline.errorHandler())
    return { h, app }
  })
}

/** `total` requests to `path`, spread round-robin over the fleet, a few at a time. */
async function storm(fleet: Member[], path: string, total: number): Promise<void> {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < total; i = next++)
      await request(fleet[i % fleet.length]!.app)
        .get(path)
        .expect(500)
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

/** An in-memory tracker that takes its time to file a ticket, as a busy Redmine does. */
function slowTracker(createMs: number): TicketAdapter & {
  tickets: Array<TicketRef & { title: string; comments: string[] }>
} {
  const tickets: Array<TicketRef & { fingerprint: string; title: string; comments: string[] }> = []
  return {
    name: 'slow',
    tickets,
    find: (fingerprint) => Promise.resolve(tickets.find((t) => t.fingerprint === fingerprint)),
    async create(ticket: NewTicket) {
      await sleep(createMs)
      const filed = {
        id: String(tickets.length + 1),
        closed: false,
        fingerprint: ticket.fingerprint,
        title: ticket.title,
        comments: [],
      }
      tickets.push(filed)
      return filed
    },
    comment(ref, text) {
      tickets.find((t) => t.id === ref.id)!.comments.push(text)
      return Promise.resolve()
    },
    reopen: () => Promise.resolve(),
  }
}

function subjects(server: TestSmtpServer): string[] {
  return server.received.map((r) => r.mail.subject ?? '')
}

describe('a fleet sharing one store', () => {
  let server: TestSmtpServer
  let fleet: Member[] = []
  beforeEach(async () => {
    server = await startSmtpServer()
  })
  afterEach(async () => {
    await Promise.all(fleet.map((m) => m.h.faultline.close()))
    fleet = []
    await server.close()
  })

  it('should mail each error once and send one digest per window for the whole fleet, counting every process', async () => {
    fleet = fleetOf(
      4,
      (coordination) =>
        new MailTransport({
          url: server.url,
          tls: { ca: getTestCertificate().certFile },
          managers: MANAGERS,
          appName: 'test-app',
          // longer than any storm, however loaded the machine: closing the fleet ends the window
          digestWindowMs: 600_000,
          coordination,
        }),
    )
    await Promise.all([storm(fleet, '/boom', 400), storm(fleet, '/other', 10)])
    await waitUntil(
      () => (fleet.reduce((n, m) => n + m.h.reports.length, 0) === 410 ? true : undefined),
      15_000,
      'every report of the storm',
    )
    // each process takes the windows it counted into as it closes: one of them gets the fleet's count
    await Promise.all(fleet.map((m) => m.h.faultline.close({ timeoutMs: 15_000 })))
    const mails = await waitUntil(
      () => (server.received.length >= 4 ? server.received : undefined),
      15_000,
      'two first mails and two digests',
    )
    await sleep(500)
    expect(mails).to.have.length(4)
    const storms = subjects(server).filter((s) => s.includes('the one storm'))
    const others = subjects(server).filter((s) => s.includes('the other error'))
    expect(storms.filter((s) => !/ more: /.test(s))).to.have.length(1)
    expect(storms.filter((s) => s.includes('399 more: '))).to.have.length(1)
    expect(others.filter((s) => s.includes('9 more: '))).to.have.length(1)
    // the digest threads under the first mail, whichever process sent each
    const first = server.received.find(
      (r) => r.mail.subject === storms.find((s) => !/ more: /.test(s)),
    )!
    const digest = server.received.find((r) => r.mail.subject?.includes('399 more: '))!
    expect(digest.mail.inReplyTo).to.equal(first.mail.messageId)
  })

  it('should announce every report as logged, including those another process counted into its digest', async () => {
    const logged: string[] = []
    fleet = fleetOf(4, (coordination) =>
      new MailTransport({
        url: server.url,
        tls: { ca: getTestCertificate().certFile },
        managers: MANAGERS,
        appName: 'test-app',
        digestWindowMs: 1500,
        coordination,
      }).on('logged', (info: { id: string }) => logged.push(info.id)),
    )
    await storm(fleet, '/boom', 40)
    await waitUntil(() => (logged.length >= 40 ? true : undefined), 10_000, '40 reports logged')
    await sleep(300)
    const reported = fleet.flatMap((m) => m.h.reports.map((r) => r.id))
    expect([...logged].sort()).to.deep.equal([...reported].sort())
  })

  it('should give an error the fleet ceiling held back no ticket of its own, however often it recurs in a window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-fleet-ceiling-'))
    try {
      const transports: TicketTransport[] = []
      fleet = fleetOf(2, (coordination) => {
        const transport = new TicketTransport({
          url: `local:${dir}`,
          digestWindowMs: 60_000,
          ceiling: { max: 2 },
          coordination,
        })
        transports.push(transport)
        return transport
      })
      for (const kind of ['A', 'B', 'C', 'D', 'A', 'B', 'C', 'D', 'C', 'D'])
        await storm(fleet, `/kind/${kind}`, 2)
      for (const transport of transports) await transport.flush(10_000)
      const tickets = ticketsIn(dir)
      const summaries = tickets.filter((t) => t.title.includes('held back'))
      // A and B filed for the whole fleet; C and D (12 occurrences) in the summaries, never filed by a comment
      expect(tickets.length - summaries.length).to.equal(2)
      expect(summaries.length).to.be.within(1, 2)
      const heldBack = summaries.map((t) =>
        /(\d+) distinct error\(s\) occurring (\d+)/.exec(t.body)!,
      )
      expect(heldBack.reduce((sum, m) => sum + Number(m[2]), 0)).to.equal(12)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("should file one ticket per error for the whole fleet, its comments counting every process's occurrences", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-fleet-tickets-'))
    try {
      fleet = fleetOf(
        4,
        (coordination) =>
          new TicketTransport({ url: `local:${dir}`, digestWindowMs: 3000, coordination }),
      )
      const started = Date.now()
      await Promise.all([storm(fleet, '/boom', 400), storm(fleet, '/other', 10)])
      const stormed = Date.now() - started
      // on a loaded machine the storm may outlast a window: its count then spans two comments
      const counted = (t: LocalTicket) => commentedCount(t) >= 9
      await waitUntil(
        () => {
          const seen = ticketsIn(dir)
          return seen.length === 2 &&
            seen.every(counted) &&
            commentedCount(seen.find((t) => t.title.includes('the one storm'))!) >= 399
            ? seen
            : undefined
        },
        15_000,
        'two tickets with their comments',
      )
      await sleep(500)
      const tickets = ticketsIn(dir)
      const storm1 = tickets.find((t) => t.title.includes('the one storm'))!
      const other = tickets.find((t) => t.title.includes('the other error'))!
      expect(tickets).to.have.length(2)
      // the filing occurrence is the ticket itself; every other one is counted in a comment
      expect(commentedCount(storm1)).to.equal(399)
      expect(commentedCount(other)).to.equal(9)
      expect(storm1.comments.length).to.be.at.most(Math.ceil(stormed / 3000) + 1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("should count the fleet's mails against the hourly ceiling, each process summarising what it held back", async () => {
    const transports: MailTransport[] = []
    fleet = fleetOf(3, (coordination) => {
      const transport = new MailTransport({
        url: server.url,
        tls: { ca: getTestCertificate().certFile },
        managers: MANAGERS,
        appName: 'test-app',
        ceiling: { max: 2 },
        coordination,
      })
      transports.push(transport)
      return transport
    })
    for (const [i, kind] of ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'].entries())
      await request(fleet[i % 3]!.app)
        .get(`/kind/${kind}`)
        .expect(500)
    await Promise.all(transports.map((t) => t.flush(5000)))
    const firsts = subjects(server).filter((s) => s.includes('error of kind'))
    const summaries = subjects(server)
      .map((s) => /\] (\d+) error mails held back/.exec(s)?.[1])
      .filter((n) => n !== undefined)
      .map(Number)
    expect(firsts).to.have.length(2)
    expect(summaries.reduce((a, b) => a + b, 0)).to.equal(4)
  })

  it('should not file a second ticket while another process is still filing the first, and count the occurrence into a comment', async () => {
    const tracker = slowTracker(1500)
    fleet = fleetOf(
      2,
      (coordination) =>
        new TicketTransport({ adapter: tracker, digestWindowMs: 300, coordination }),
    )
    await request(fleet[0]!.app).get('/boom').expect(500)
    // the first window ends with nothing counted; the next occurrence, elsewhere, opens a new one while the ticket is still being filed
    await sleep(600)
    await request(fleet[1]!.app).get('/boom').expect(500)
    const ticket = await waitUntil(
      () => (tracker.tickets[0]?.comments.length ? tracker.tickets[0] : undefined),
      10_000,
      'the ticket and its comment',
    )
    await sleep(500)
    expect(tracker.tickets).to.have.length(1)
    expect(ticket.comments).to.have.length(1)
    expect(ticket.comments[0]).to.match(/^1 more occurrence since/)
  })
})
