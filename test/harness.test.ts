import { expect } from 'chai'
import request from 'supertest'
import TransportStream from 'winston-transport'
import { captureStderr, createApp, createHarness } from './helpers.js'

/** A transport that warns on every record, as a transport with its receiver down does. */
class WarningTransport extends TransportStream {
  override log(_info: unknown, callback: () => void): void {
    this.emit('warn', new Error('the receiver is down'))
    callback()
  }
}

async function failOnce(transport: TransportStream) {
  const h = createHarness({ transports: [transport] })
  const app = createApp(h.faultline)
  app.get('/boom', () => {
    throw new Error('boom')
  })
  app.use(h.faultline.errorHandler())
  await request(app).get('/boom').expect(500)
  await h.waitForReports(1)
  return h
}

describe('test harness', () => {
  it("should keep faultline's own notices in the harness, through the notices option, and off stderr", async () => {
    let notices: string[] = []
    let codes: string[] = []
    const written = await captureStderr(async () => {
      const h = await failOnce(new WarningTransport())
      notices = h.notices
      codes = h.noticeRecords.map((n) => n.code)
      await h.faultline.close()
    })
    expect(notices.join('')).to.match(/^faultline: .*the receiver is down\n/)
    expect(codes).to.include('FAULTLINE_TRANSPORT_WARNING')
    expect(written).not.to.contain('the receiver is down')
  })
})
