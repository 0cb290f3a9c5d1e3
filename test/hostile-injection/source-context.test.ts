import { expect } from 'chai'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import request from 'supertest'
import { composeReportMail } from '../../transports/mail/format.js'
import { getErrorFrames } from '../../lib/source/source-context.js'
import { createApp, createHarness, waitUntil, type Harness } from '../helpers.js'
import { SECRETS, emlCount, forgeries, makeAppRoot, readMails } from './support.js'

describe('hostile input', () => {
  describe('source context quoted by a message', () => {
    let fixture: ReturnType<typeof makeAppRoot>
    let search: (q: string) => never
    let h: Harness | undefined
    before(async () => {
      fixture = makeAppRoot()
      search = (
        (await import(pathToFileURL(fixture.modulePath).href)) as { search: (q: string) => never }
      ).search
    })
    after(() => rmSync(fixture.base, { recursive: true, force: true }))
    afterEach(async () => {
      await h?.faultline.close()
      h = undefined
    })

    function appWith(harness: Harness) {
      const app = createApp(harness.faultline)
      app.get('/search', (req) => search(String(req.query.q)))
      app.use(harness.faultline.errorHandler())
      return app
    }

    const inputs = () => Object.values(fixture.files).flatMap(forgeries)

    it('should never mail a line of a file that a forged frame names, in the text or the HTML part', async function () {
      this.timeout(20_000)
      const outbox = join(fixture.base, 'outbox')
      h = createHarness({ appRoot: fixture.root, managers: ['ops@example.org'], mail: { outbox } })
      const app = appWith(h)
      const all = inputs()
      // each input is its own mail: the message (and so the fingerprint) differs by what it quotes
      for (const q of all) await request(app).get('/search').query({ q }).expect(500)
      const reports = await h.waitForReports(all.length)
      await waitUntil(() => (emlCount(outbox) >= 1 ? true : undefined), 10_000, 'a mail')
      // what went out, plus each report's mail as the transport composes it (later ones of a fingerprint only make a digest)
      const mails = [
        ...(await readMails(outbox)),
        ...reports.map((r) => composeReportMail(r, fixture.root)),
      ]
      for (const mail of mails) {
        for (const secret of SECRETS) {
          expect(mail.text, secret).to.not.contain(secret)
          expect(mail.html, secret).to.not.contain(secret)
        }
        // the real frame still shows its source
        expect(mail.text).to.contain('the real throw line')
      }
    })

    it("should never show a forged frame's file on the debug page, as HTML, JSON or text", async function () {
      this.timeout(20_000)
      h = createHarness({ appRoot: fixture.root, debug: true })
      const app = appWith(h)
      for (const q of inputs()) {
        for (const accept of ['text/html', 'application/json', 'text/plain']) {
          const res = await request(app)
            .get('/search')
            .query({ q })
            .set('Accept', accept)
            .expect(500)
          for (const secret of SECRETS)
            expect(res.text, `${accept} ${JSON.stringify(q)}`).to.not.contain(secret)
          if (accept !== 'text/plain') expect(res.text).to.contain('the real throw line')
        }
      }
    })

    it("should never put a forged frame's file into a ticket", async function () {
      this.timeout(20_000)
      const dir = join(fixture.base, 'tickets')
      h = createHarness({ appRoot: fixture.root, tickets: `local:${dir}` })
      const app = appWith(h)
      const all = inputs()
      for (const q of all) await request(app).get('/search').query({ q }).expect(500)
      // the tracker files at most 30 new errors an hour (and one summary of the rest)
      await waitUntil(
        () =>
          readdirSync(dir).filter((f) => f.endsWith('.md')).length >= Math.min(all.length, 30)
            ? true
            : undefined,
        10_000,
        'the tickets',
      )
      for (const name of readdirSync(dir)) {
        const text = readFileSync(join(dir, name), 'utf8')
        for (const secret of SECRETS) expect(text, `${name} ${secret}`).to.not.contain(secret)
      }
    })

    it('should read frames only after the message, whatever lines the message holds', () => {
      const real = `${fixture.modulePath}:2:9`
      for (const message of forgeries(fixture.files.hidden!)) {
        const error = {
          name: 'Error',
          message,
          stack: `Error: ${message}\n    at search (${real})`,
        }
        const frames = getErrorFrames(error, { root: fixture.root })
        expect(frames.map((f) => f.file)).to.deep.equal([fixture.modulePath])
      }
    })

    it('should show source only for code files inside the root, never through a symlink out of it', () => {
      for (const file of Object.values(fixture.files)) {
        // even a genuine-looking stack gets no context for these files
        const frames = getErrorFrames(
          { name: 'Error', message: 'x', stack: `Error: x\n    at f (${file}:2:1)` },
          { root: fixture.root },
        )
        expect(frames[0]?.context, file).to.equal(undefined)
      }
      const [real] = getErrorFrames(
        { name: 'Error', message: 'x', stack: `Error: x\n    at f (${fixture.modulePath}:2:1)` },
        { root: fixture.root },
      )
      expect(real?.context?.find((l) => l.current)?.text).to.contain('the real throw line')
    })
  })
})
