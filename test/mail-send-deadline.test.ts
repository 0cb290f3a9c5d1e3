import { expect } from 'chai'
import request from 'supertest'
import { createApp, createHarness, waitUntil, type Harness } from './helpers.js'
import {
  getTestCertificate,
  startSmtpServer,
  startTricklingServer,
  type TestSmtpServer,
  type TricklingServer,
} from './support/smtp.js'

describe('mail to a server that trickles its replies', () => {
  let good: TestSmtpServer
  let trickling: TricklingServer
  let h: Harness | undefined
  afterEach(async () => {
    await h?.faultline.close()
    h = undefined
    await trickling.close()
    await good.close()
  })

  it('should give up the stalled send, destroy its connection and deliver the mail later through a good server', async function () {
    this.timeout(30_000)
    good = await startSmtpServer()
    // a byte every 50 ms never trips the 400 ms socket timeout: only the send deadline ends it
    trickling = await startTricklingServer(good.port, { everyMs: 50, maxBytes: 2000 })
    h = createHarness({
      managers: ['ops@example.org'],
      mail: {
        url: good.url.replace(`:${good.port}`, `:${trickling.port}`),
        tls: { ca: getTestCertificate().certFile },
        timeouts: { connectionMs: 400, greetingMs: 400, socketMs: 400, sendMs: 1000 },
      },
    })
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new Error('the mail about this waits behind a stalling server')
    })
    app.use(h.faultline.errorHandler())
    await request(app).get('/boom').expect(500)
    const [got] = await waitUntil(
      () => (good.received.length ? good.received : undefined),
      20_000,
      'the mail, delivered after the stalled send',
    )
    expect(got!.mail.subject).to.contain('the mail about this waits behind a stalling server')
    expect(trickling.stalled).to.equal(1)
    expect(trickling.closedByClient).to.equal(1)
    expect(h.notices.join('\n')).to.match(/send deadline|mail\.timeouts\.sendMs/)
  })
})
