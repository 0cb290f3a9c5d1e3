import { expect } from 'chai'
import request from 'supertest'
import { createApp, createHarness, type Harness } from './helpers.js'

// a storm's repeats skip scanning a text already found clean; a request's own secrets must still be hidden
describe('scrubbing in a storm', () => {
  let h: Harness
  beforeEach(() => {
    h = createHarness()
  })
  afterEach(() => h.faultline.close())

  it('should hide a secret of the repeat’s own request in a message earlier repeats showed as it was', async () => {
    const app = createApp(h.faultline)
    app.get('/cart', () => {
      throw new Error('no cart for session 7f3a9c2e51d84b06')
    })
    app.use(h.faultline.errorHandler())
    await request(app).get('/cart').expect(500)
    await request(app).get('/cart').expect(500)
    await request(app).get('/cart').set('Cookie', 'session=7f3a9c2e51d84b06').expect(500)
    const [full, clean, secret] = await h.waitForReports(3)
    expect(clean!.repeatOf).to.equal(full!.id)
    expect(clean!.message).to.equal('Error: no cart for session 7f3a9c2e51d84b06')
    expect(secret!.repeatOf).to.equal(full!.id)
    expect(JSON.stringify(secret)).not.to.contain('7f3a9c2e51d84b06')
  })

  it('should scrub a secret a repeated message shows by its pattern every time', async () => {
    const app = createApp(h.faultline)
    app.get('/pay', () => {
      throw new Error('gateway refused https://shop:hunter2hunter2@pay.example/charge')
    })
    app.use(h.faultline.errorHandler())
    for (let i = 0; i < 3; i++) await request(app).get('/pay').expect(500)
    const reports = await h.waitForReports(3)
    expect(reports.slice(1).every((r) => r.repeatOf === reports[0]!.id)).to.equal(true)
    for (const report of reports) expect(JSON.stringify(report)).not.to.contain('hunter2hunter2')
  })
})
