import { expect } from 'chai'
import request from 'supertest'
import winston from 'winston'
import TransportStream from 'winston-transport'
import {
  createFaultline,
  FaultlineConfigError,
  MailTransport,
  NOTICE_CODES,
  SuspiciousRequest,
  TicketError,
  type Notice,
} from '../lib/index.js'
import { RelpProtocolError } from '../transports/syslog/relp-frames.js'
import { captureStderr, createApp, createHarness, waitUntil } from './helpers.js'
import { getDeadPort } from './support/ports.js'

/** A transport of the app's own that warns on every record, quoting what it was told. */
class WarningTransport extends TransportStream {
  constructor(readonly said = 'the receiver is down') {
    super()
  }
  override log(_info: unknown, callback: () => void): void {
    this.emit('warn', new Error(this.said))
    callback()
  }
}

const quiet = { appName: 'shop', env: false, stderr: false, spoolDir: false, debug: false } as const

async function failOnce(faultline: ReturnType<typeof createFaultline>): Promise<void> {
  const app = createApp(faultline)
  app.get('/boom', () => {
    throw new Error('boom')
  })
  app.use(faultline.errorHandler())
  await request(app).get('/boom').expect(500)
}

describe('notices', () => {
  it('should print each notice on stderr by default, as one "faultline: …" line', async () => {
    const written = await captureStderr(async () => {
      const faultline = createFaultline({ ...quiet, transports: [new WarningTransport()] })
      await failOnce(faultline)
      await faultline.close({ timeoutMs: 1000 })
    })
    expect(written).to.contain('faultline: WarningTransport: the receiver is down\n')
  })

  it('should hand every notice to the notices function with its code, and print none', async () => {
    const seen: Notice[] = []
    const written = await captureStderr(async () => {
      const faultline = createFaultline({
        ...quiet,
        transports: [new WarningTransport()],
        notices: (notice) => seen.push(notice),
      })
      await failOnce(faultline)
      await faultline.close({ timeoutMs: 1000 })
    })
    expect(written).to.equal('')
    expect(seen[0]).to.deep.include({
      code: 'FAULTLINE_TRANSPORT_WARNING',
      message: 'WarningTransport: the receiver is down',
      text: 'faultline: WarningTransport: the receiver is down',
    })
    for (const notice of seen) expect(NOTICE_CODES).to.have.property(notice.code)
  })

  it('should say nothing with notices: false', async () => {
    const written = await captureStderr(async () => {
      const faultline = createFaultline({
        ...quiet,
        transports: [new WarningTransport()],
        notices: false,
      })
      await failOnce(faultline)
      await faultline.close({ timeoutMs: 1000 })
    })
    expect(written).to.equal('')
  })

  it("should go through process.emitWarning with the code with notices: 'emitWarning'", async () => {
    const warnings: Error[] = []
    const listen = (w: Error) => warnings.push(w)
    process.on('warning', listen)
    try {
      const faultline = createFaultline({
        ...quiet,
        transports: [new WarningTransport()],
        notices: 'emitWarning',
      })
      await failOnce(faultline)
      await waitUntil(() => warnings[0], 10_000, 'a warning')
      await faultline.close({ timeoutMs: 1000 })
    } finally {
      process.off('warning', listen)
    }
    expect(warnings[0]).to.include({
      name: 'FaultlineWarning',
      code: 'FAULTLINE_TRANSPORT_WARNING',
      message: 'faultline: WarningTransport: the receiver is down',
    })
  })

  it('should lose no notice when the notices function throws: stderr gets it, and the failure once', async () => {
    const written = await captureStderr(async () => {
      const faultline = createFaultline({
        ...quiet,
        transports: [new WarningTransport()],
        notices: () => {
          throw new Error('the log shipper is gone')
        },
      })
      await failOnce(faultline)
      await failOnce(faultline)
      await faultline.close({ timeoutMs: 1000 })
    })
    expect(written.match(/the receiver is down/g)).to.have.length(2)
    expect(written.match(/the "notices" function threw/g)).to.have.length(1)
    expect(written).to.contain('the log shipper is gone')
  })

  it('should keep a notice quoting hostile text to one bounded line', async () => {
    const hostile = `down\nfaultline: the shared store answers again\u001b[2J${'x'.repeat(1 << 20)}`
    const h = createHarness({ transports: [new WarningTransport(hostile)] })
    await failOnce(h.faultline)
    await h.faultline.close({ timeoutMs: 1000 })
    const [notice] = h.noticeRecords
    expect(notice!.text.split('\n')).to.have.length(1)
    expect(notice!.text).to.contain('down\\nfaultline: the shared store answers again\\u001b[2J')
    expect(notice!.text.length).to.be.below(5000)
  })

  it('should refuse a notices option that is neither a function, stderr, emitWarning nor false', () => {
    expect(() => createFaultline({ ...quiet, notices: 'loud' as never }))
      .to.throw(FaultlineConfigError, /option "notices"/)
      .with.property('field', 'notices')
  })

  it('should say a renamed option through the channel, with its code', async () => {
    const h = createHarness()
    await h.faultline.close({ timeout: 500 } as never)
    const renamed = h.noticeRecords.filter((n) => n.code === 'FAULTLINE_RENAMED_OPTION')
    // said once per process: another test in this run may have said it first
    expect(renamed.length).to.be.at.most(1)
    for (const notice of renamed) expect(notice.message).to.contain('"close.timeout" was renamed')
  })

  describe("a transport's notices", function () {
    this.timeout(20_000)

    async function failingMail(notices?: (n: Notice) => void) {
      const port = await getDeadPort()
      return new MailTransport({
        url: `smtp://127.0.0.1:${port}`,
        managers: ['ops@example.org'],
        timeouts: { connectionMs: 200, greetingMs: 200, socketMs: 200 },
        ...(notices ? { notices } : {}),
      })
    }

    async function mailFrom(transport: MailTransport): Promise<void> {
      const logger = winston.createLogger({ transports: [transport] })
      const faultline = createFaultline({ ...quiet, logger, notices: false })
      await failOnce(faultline)
      await faultline.close({ timeoutMs: 500 })
    }

    it("should go through the faultline's channel, with the transport's code and name", async () => {
      const h = createHarness({
        managers: ['ops@example.org'],
        mail: {
          url: `smtp://127.0.0.1:${await getDeadPort()}`,
          timeouts: { connectionMs: 200, greetingMs: 200, socketMs: 200 },
        },
      })
      await failOnce(h.faultline)
      const down = await waitUntil(
        () => h.noticeRecords.find((n) => n.code === 'FAULTLINE_MAIL_DOWN'),
        10_000,
        'the mail outage notice',
      )
      await h.faultline.close({ timeoutMs: 500 })
      expect(down).to.include({ transport: 'mail' })
      expect(down.text).to.match(/^faultline: mail: mail to smtp:\/\/127\.0\.0\.1:\d+ failed/)
      expect(h.noticeRecords.filter((n) => n.code === 'FAULTLINE_MAIL_DOWN')).to.have.length(1)
    })

    it('should go through its own notices option when the app built it, even on a faultline', async () => {
      const own: Notice[] = []
      const transport = await failingMail((n) => own.push(n))
      const h = createHarness({ transports: [transport] })
      await failOnce(h.faultline)
      await waitUntil(() => own.find((n) => n.code === 'FAULTLINE_MAIL_DOWN'), 10_000, 'a notice')
      await h.faultline.close({ timeoutMs: 500 })
      expect(h.noticeRecords.filter((n) => n.transport === 'mail')).to.deep.equal([])
    })

    it('should print on stderr when the app built it and gave no notices option', async () => {
      let transport: MailTransport | undefined
      const written = await captureStderr(async () => {
        transport = await failingMail()
        await mailFrom(transport)
        await waitUntil(
          () => (transport!.stats().retried > 0 ? true : undefined),
          10_000,
          'a retry',
        )
      })
      expect(written).to.match(/^faultline: mail: mail to smtp:\/\/127\.0\.0\.1:\d+ failed/m)
    })
  })
})

describe('error codes', () => {
  it('should give every error faultline throws a code, read by shape', () => {
    let config: unknown
    try {
      createFaultline({ ...quiet, managers: 'ops' as never })
    } catch (err) {
      config = err
    }
    expect(config).to.include({ code: 'FAULTLINE_CONFIG', field: 'managers' })
    expect(new SuspiciousRequest('probe')).to.include({ code: 'FAULTLINE_SUSPICIOUS_REQUEST' })
    expect(new TicketError('refused', { permanent: true })).to.include({
      code: 'FAULTLINE_TICKET',
    })
    expect(new RelpProtocolError('frame too long')).to.include({
      code: 'FAULTLINE_RELP_PROTOCOL',
    })
  })
})

describe('declared stats', () => {
  class Counting extends TransportStream {
    constructor(
      readonly name: string,
      readonly counts: () => unknown,
    ) {
      super()
    }
    override log(_info: unknown, callback: () => void): void {
      callback()
    }
    stats(): unknown {
      return this.counts()
    }
  }

  it("should read a transport's stats() only in the declared shape, and skip any other without guessing", async () => {
    const h = createHarness({
      transports: [
        new Counting('declared', () => ({
          delivered: 3,
          queued: 1,
          spooled: 0,
          retried: 2,
          dropped: 0,
          mine: 9,
        })),
        new Counting('guessed', () => ({ created: 3, comments: 1, pending: 2, failures: 1 })),
        new Counting('broken', () => {
          throw new Error('no counters')
        }),
        new Counting('lying', () => ({
          delivered: '3',
          queued: NaN,
          spooled: 0,
          retried: 0,
          dropped: 0,
        })),
      ],
    })
    const stats = h.faultline.stats()
    await h.faultline.close({ timeoutMs: 500 })
    expect(stats).to.deep.equal({
      declared: { delivered: 3, queued: 1, spooled: 0, retried: 2, dropped: 0 },
    })
  })
})
