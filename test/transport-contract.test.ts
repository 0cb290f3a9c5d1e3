import { expect } from 'chai'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import TransportStream from 'winston-transport'
import type { TransportStats } from '../lib/contract/transport-contract.js'
import { MailTransport } from '../transports/mail.js'
import { SyslogTransport } from '../transports/syslog.js'
import { TicketTransport } from '../transports/ticket.js'
import { TicketError, type TicketAdapter } from '../transports/ticket/adapter.js'
import { LocalTicketAdapter } from '../transports/ticket/local.js'
import { createHarness, waitUntil, type Harness } from './helpers.js'
import { getDeadPort } from './support/ports.js'

function transportOf<T>(h: Harness, type: new (...args: never[]) => T): T {
  return h.faultline.logger.transports.find((t) => t instanceof type) as T
}

/** Every `logged` and `warn` a transport emits, as a user listening to it sees them. */
function listen(transport: TransportStream): {
  logged: Array<Record<string, unknown>>
  warnings: unknown[]
} {
  const seen = { logged: [] as Array<Record<string, unknown>>, warnings: [] as unknown[] }
  transport.on('logged', (info: Record<string, unknown>) => seen.logged.push(info))
  transport.on('warn', (err: unknown) => seen.warnings.push(err))
  return seen
}

function raise(h: Harness, name: string): string {
  return h.faultline.capture(Object.assign(new Error('stock count went negative'), { name }))
}

describe("transports keep winston's contract", () => {
  let dir: string
  let h: Harness | undefined
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'faultline-contract-'))))
  afterEach(async () => {
    await h?.faultline.close({ timeoutMs: 1000 })
    h = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it('should emit logged with the info once a syslog receiver took it, and warn with an Error while it is away', async () => {
    const port = await getDeadPort()
    h = createHarness({ syslog: { url: `tcp://127.0.0.1:${port}`, inDoubtMs: 0 } })
    const seen = listen(transportOf(h, SyslogTransport))
    const id = raise(h, 'SyslogDownError')
    await waitUntil(() => seen.warnings[0], 10_000, 'a warning')
    expect(seen.warnings[0]).to.be.instanceOf(Error)
    expect(seen.logged).to.have.length(0)
    const received: Buffer[] = []
    const server: Server = createServer((socket) =>
      socket.on('data', (chunk: Buffer) => received.push(chunk)),
    )
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    try {
      await waitUntil(() => seen.logged[0], 15_000, 'the logged event')
      expect(seen.logged.map((info) => info.id)).to.deep.equal([id])
      await waitUntil(
        () => (Buffer.concat(received).toString().includes(id) ? true : undefined),
        10_000,
        'the line at the receiver',
      )
    } finally {
      await h.faultline.close({ timeoutMs: 1000 })
      h = undefined
      server.close()
    }
  })

  it('should emit logged for a mailed report when its mail is written, and for a counted one when its digest is', async () => {
    h = createHarness({
      managers: ['ops@example.org'],
      mail: { outbox: join(dir, 'outbox'), digestWindowMs: 60_000 },
    })
    const mail = transportOf(h, MailTransport)
    const seen = listen(mail)
    const first = raise(h, 'MailedError')
    await waitUntil(() => seen.logged[0], 10_000, 'the first mail logged')
    const second = raise(h, 'MailedError')
    await mail.flush(2000)
    await waitUntil(() => seen.logged[1], 10_000, 'the digest logged')
    expect(seen.logged.map((info) => info.id)).to.deep.equal([first, second])
    expect(seen.logged[0]).to.include({ kind: 'traceback', level: 'error' })
  })

  it('should emit logged for a ticketed report when its ticket is filed, and for a counted one when its comment is', async () => {
    h = createHarness({ tickets: { url: `local:${join(dir, 'tickets')}`, digestWindowMs: 60_000 } })
    const tickets = transportOf(h, TicketTransport)
    const seen = listen(tickets)
    const first = raise(h, 'TicketedError')
    await waitUntil(() => seen.logged[0], 10_000, 'the first report logged')
    const second = raise(h, 'TicketedError')
    expect(seen.logged).to.have.length(1)
    await tickets.flush(2000)
    await waitUntil(() => seen.logged[1], 10_000, 'the comment logged')
    expect(seen.logged.map((info) => info.id)).to.deep.equal([first, second])
    expect(tickets.stats()).to.include({
      delivered: 2,
      created: 1,
      comments: 1,
      queued: 0,
      dropped: 0,
    })
  })

  it('should give up tracker work refused for good at once, count it as dropped and say so once', async () => {
    const local = new LocalTicketAdapter(join(dir, 'tickets'))
    const refusing: TicketAdapter = {
      name: 'refusing',
      find: () =>
        Promise.reject(
          new TicketError('the tracker refused the API key (401): check the key', {
            permanent: true,
            status: 401,
          }),
        ),
      create: (ticket) => local.create(ticket),
      comment: (ref, text) => local.comment(ref, text),
      reopen: (ref, text) => local.reopen(ref, text),
    }
    h = createHarness({ tickets: { adapter: refusing, digestWindowMs: 60_000 } })
    const tickets = transportOf(h, TicketTransport)
    const seen = listen(tickets)
    raise(h, 'FirstRefusedError')
    raise(h, 'SecondRefusedError')
    await waitUntil(
      () => (tickets.stats().dropped === 2 ? true : undefined),
      10_000,
      'both operations dropped',
    )
    expect(tickets.stats()).to.include({ queued: 0, retried: 0, delivered: 0 })
    expect(seen.warnings.map((err) => (err as Error).message)).to.deep.equal([
      'refusing tracker: the tracker refused the API key (401): check the key; ticket work it refuses is dropped, not retried',
    ])
    expect(seen.logged).to.have.length(0)
  })

  it('should file one ticket and count the occurrence once when the tracker went away between filing and settling', async () => {
    const local = new LocalTicketAdapter(join(dir, 'tickets'))
    let finds = 0
    // the tracker took the new ticket, then stopped answering before the race check could ask again
    const flaky: TicketAdapter = {
      name: 'flaky',
      find: (fingerprint) =>
        ++finds === 2
          ? Promise.reject(new TicketError('the tracker cannot be reached (ECONNRESET)'))
          : local.find(fingerprint),
      create: (ticket) => local.create(ticket),
      comment: (ref, text) => local.comment(ref, text),
      reopen: (ref, text) => local.reopen(ref, text),
    }
    h = createHarness({ tickets: { adapter: flaky, digestWindowMs: 300 } })
    const tickets = transportOf(h, TicketTransport)
    listen(tickets)
    raise(h, 'FlakyTrackerError')
    await waitUntil(
      () => (tickets.stats().delivered === 1 ? true : undefined),
      10_000,
      'the ticket',
    )
    raise(h, 'FlakyTrackerError')
    await h.faultline.close({ timeoutMs: 5000 })
    const files = readdirSync(join(dir, 'tickets')).filter((name) => name.endsWith('.json'))
    expect(files).to.have.length(1)
    const ticket = JSON.parse(readFileSync(join(dir, 'tickets', files[0]!), 'utf8')) as {
      comments: Array<{ text: string }>
    }
    expect(ticket.comments.map((c) => c.text)).to.have.length(1)
    expect(ticket.comments[0]!.text).to.match(/^1 more occurrence since/)
    expect(tickets.stats()).to.include({ created: 1, retried: 1 })
  })

  it('should name every transport in stats() by its name, with the same counts, a custom one included', async () => {
    class AuditTransport extends TransportStream {
      readonly name = 'audit'
      override log(_info: unknown, callback: () => void): void {
        callback()
      }
      stats(): TransportStats {
        return { delivered: 7, queued: 0, spooled: 0, retried: 0, dropped: 0 }
      }
    }
    h = createHarness({
      file: join(dir, 'errors.log'),
      tickets: `local:${join(dir, 'tickets')}`,
      transports: [new AuditTransport()],
    })
    const stats = h.faultline.stats()
    expect(Object.keys(stats)).to.have.members(['file', 'tickets', 'audit'])
    for (const counts of Object.values(stats))
      expect(counts).to.have.keys(['delivered', 'queued', 'spooled', 'retried', 'dropped'])
    expect(stats.audit).to.include({ delivered: 7 })
  })
})
