import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import { MailThrottle } from '../../transports/mail/throttle.js'
import type { Report } from '../../lib/report/report.js'
import { createApp, createHarness, waitUntil } from '../helpers.js'
import { emlNames, findMail } from './support.js'

describe('hostile input', () => {
  describe('mail budget under a probe storm', () => {
    it("should mail a traceback at once after a scanner's probes used up the warnings' ceiling", async function () {
      this.timeout(20_000)
      const base = mkdtempSync(join(tmpdir(), 'faultline-budget-'))
      const outbox = join(base, 'outbox')
      const h = createHarness({ managers: ['ops@example.org'], mail: { outbox, level: 'warn' } })
      try {
        const app = createApp(h.faultline)
        app.get('/boom', () => {
          throw new Error('real traceback after the storm')
        })
        app.use(h.faultline.errorHandler())
        // 40 distinct probes from one client, each its own fingerprint: more than the whole hourly ceiling (30)
        const words = Array.from(
          { length: 40 },
          (_, i) =>
            `probe${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
        )
        for (const word of words) await request(app).get(`/${word}.php`).expect(404)
        await h.waitForReports(40)
        await request(app).get('/boom').expect(500)
        const found = await waitUntil(
          () =>
            emlNames(outbox).length
              ? findMail(outbox, 'real traceback after the storm')
              : undefined,
          10_000,
          "the traceback's mail",
        )
        expect(found).to.equal(true)
        // the probes were mailed only up to their own, smaller ceiling
        const probeMails = emlNames(outbox).length - 1
        expect(probeMails).to.be.below(30)
      } finally {
        await h.faultline.close()
        rmSync(base, { recursive: true, force: true })
      }
    })

    it('should keep separate ceilings for warnings and errors in the throttle itself', () => {
      const sent: string[] = []
      const held: string[] = []
      const throttle = new MailThrottle(
        { windowMs: 60_000, maxPerPeriod: 30, periodMs: 3_600_000 },
        {
          sendReport: (r) => sent.push(r.kind),
          sendDigest: () => undefined,
          sendHeldBack: (h) => held.push(`${h.budget}:${h.mails}`),
        },
      )
      const report = (kind: Report['kind'], i: number) =>
        ({ kind, fingerprint: `${kind}${i}`, id: `${i}`, time: '', message: 'm' }) as Report
      for (let i = 0; i < 200; i++) throttle.add(report('warning', i))
      for (let i = 0; i < 30; i++) throttle.add(report(i % 2 ? 'traceback' : 'error', i))
      expect(sent.filter((k) => k !== 'warning')).to.have.length(30)
      expect(sent.filter((k) => k === 'warning')).to.have.length(10)
      void throttle.flush()
      expect(held).to.deep.equal(['warnings:190'])
    })
  })
})
