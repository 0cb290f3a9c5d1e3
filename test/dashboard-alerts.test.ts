import { expect } from 'chai'
import express from 'express'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { createFaultline, type Faultline } from '../lib/index.js'
import { listen, sleep } from './helpers.js'

/** The mails in the outbox, as text. */
async function mails(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.eml'))
  return Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))
}

/** The local tracker's tickets. */
async function tickets(dir: string): Promise<Array<{ id: string; comments: unknown[] }>> {
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.json'))
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))))
}

describe('incident view and the alerts', function () {
  let dir: string
  let faultline: Faultline
  let site: { url: string; close(): Promise<void> }

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'faultline-alerts-'))
    faultline = createFaultline({
      appName: 'shop',
      env: false,
      debug: false,
      throwErrors: false,
      stderr: false,
      spoolDir: false,
      mail: { outbox: join(dir, 'outbox') },
      tickets: `local:${join(dir, 'tickets')}`,
    })
    const app = express()
    app.use(faultline.requestHandler())
    app.use('/_faultline', faultline.dashboard({ authorize: () => true }))
    app.get('/pay', () => {
      throw new Error('card processor timed out')
    })
    app.use(faultline.errorHandler())
    site = await listen(app)
  })

  afterEach(async function () {
    await site.close()
    await faultline.close()
    await rm(dir, { recursive: true, force: true })
  })

  it("should link an error to the ticket filed for it, and show the link on the error's page", async function () {
    await request(site.url).get('/pay')
    let issue = (await faultline.issues()).issues[0]
    const deadline = Date.now() + 5000
    while (!issue?.ticket && Date.now() < deadline) {
      await sleep(20)
      issue = (await faultline.issues()).issues[0]
    }
    if (!issue?.ticket) throw new Error('no ticket linked to the error')
    const [filed] = await tickets(join(dir, 'tickets'))
    expect(issue.ticket?.id).to.equal(filed!.id)
    const page = await request(site.url).get(`/_faultline/issues/${issue.fingerprint}`)
    expect(page.text).to.include(filed!.id)
  })

  it('should neither mail nor ticket a muted error until it is unmuted, and still count it', async function () {
    await request(site.url).get('/pay')
    const deadline = Date.now() + 5000
    while ((await mails(join(dir, 'outbox'))).length === 0 && Date.now() < deadline) await sleep(20)
    const [issue] = (await faultline.issues()).issues
    const path = `/_faultline/issues/${issue!.fingerprint}`
    const page = await request(site.url).get(path)
    const cookie = ([] as string[])
      .concat(page.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('faultline_csrf='))!
      .split(';')[0]!
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!
    const muted = await request(site.url)
      .post(path)
      .set('Cookie', cookie)
      .type('form')
      .send({ action: 'mute-hour', csrf })
    expect(muted.status).to.equal(303)
    for (let i = 0; i < 3; i++) await request(site.url).get('/pay')
    await faultline.close()
    // closing sends every digest and comment still gathering: none for the muted occurrences
    const sent = await mails(join(dir, 'outbox'))
    expect(sent).to.have.length(1)
    expect(sent[0]).not.to.match(/more occurrences?/)
    const [ticket] = await tickets(join(dir, 'tickets'))
    expect(ticket!.comments).to.have.length(0)
    expect((await faultline.issue(issue!.fingerprint))?.count).to.equal(4)
  })
})
