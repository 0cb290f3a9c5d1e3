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
          digestWindowMs: 4000,
          coordination,
        }),
    )
    await Promise.all([storm(fleet, '/boom', 400), storm(fleet, '/other', 10)])
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
  it("should file one ticket per error for the whole fleet, its comments counting every process's occurrences", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-fleet-tickets-'))
    try {
      fleet = fleetOf(
        4,
        (coordination) =>
          new TicketTransport({ url: `local:${dir}`, windowMs: 3000, coordination }),
      )
      await Promise.all([storm(fleet, '/boom', 400), storm(fleet, '/other', 10)])
      const tickets = await waitUntil(
        () => {
          const seen = ticketsIn(dir)
          return seen.length === 2 && seen.every((t) => t.comments.length > 0) ? seen : undefined
        },
        15_000,
        'two tickets with their comments',
      )
      await sleep(500)
      const storm1 = ticketsIn(dir).find((t) => t.title.includes('the one storm'))!
      const other = ticketsIn(dir).find((t) => t.title.includes('the other error'))!
      expect(tickets).to.have.length(2)
      // the filing occurrence is the ticket itself; every other one is counted in a comment
      expect(commentedCount(storm1)).to.equal(399)
      expect(commentedCount(other)).to.equal(9)
      expect(storm1.comments).to.have.length(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
