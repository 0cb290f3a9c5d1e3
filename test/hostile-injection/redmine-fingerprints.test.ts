import { expect } from 'chai'
import express from 'express'
import type { Report } from '../../lib/report/report.js'
import { toRedmineText } from '../../transports/ticket/format.js'
import { RedmineAdapter } from '../../transports/ticket/redmine.js'
import { listen } from '../helpers.js'

const MARKUP_SAMPLE =
  '<script>alert(1)</script> </pre><a href="https://evil.example">x</a> [x](https://evil.example)'

describe('hostile input', () => {
  describe('Redmine fingerprints', () => {
    interface Seen {
      method: string
      url: string
      body: Record<string, Record<string, unknown>> | undefined
    }
    /** A stand-in for Redmine's REST API on loopback: answers searches with the given issues, records every call. */
    async function fakeRedmine(issues: Array<Record<string, unknown>>) {
      const seen: Seen[] = []
      const app = express()
      app.use(express.json())
      app.get('/issues.json', (req, res) => {
        seen.push({ method: 'GET', url: req.url, body: undefined })
        res.json({ issues, total_count: issues.length })
      })
      app.get('/issue_statuses.json', (_req, res) => {
        res.json({
          issue_statuses: [
            { id: 1, name: 'New', is_closed: false },
            { id: 5, name: 'Closed', is_closed: true },
          ],
        })
      })
      app.post('/issues.json', (req, res) => {
        seen.push({ method: 'POST', url: req.url, body: req.body as Seen['body'] })
        res.status(201).json({
          issue: {
            id: 99,
            subject: String((req.body as { issue: { subject: string } }).issue.subject),
            status: { id: 1, name: 'New', is_closed: false },
          },
        })
      })
      app.put('/issues/:id.json', (req, res) => {
        seen.push({ method: 'PUT', url: req.url, body: req.body as Seen['body'] })
        res.status(204).end()
      })
      const server = await listen(app)
      return {
        seen,
        server,
        adapter: (fingerprintField?: number) =>
          new RedmineAdapter({
            baseUrl: server.url,
            apiKey: 'k',
            project: 'shop',
            ...(fingerprintField ? { fingerprintField } : {}),
          }),
      }
    }

    const mine = 'b'.repeat(16)
    const forgedSubjects = [
      `[fp:${'a'.repeat(16)}] Error: a message that quotes [fp:${mine}]`,
      `Error: [fp:${mine}] typed into a form`,
      `[fp:${mine}x] longer fingerprint`,
      `[FP:${mine}] other case`,
      `x[fp:${mine}]`,
    ]

    it("should never take over another issue whose subject only quotes the fingerprint's marker", async () => {
      for (const subject of forgedSubjects) {
        const fake = await fakeRedmine([
          { id: 1, subject, status: { id: 1, name: 'New', is_closed: false } },
          {
            id: 7,
            subject: `[fp:${mine}] Error: the real one`,
            status: { id: 1, name: 'New', is_closed: false },
          },
        ])
        try {
          expect((await fake.adapter().find(mine))?.id, subject).to.equal('7')
        } finally {
          await fake.server.close()
        }
        const alone = await fakeRedmine([
          { id: 1, subject, status: { id: 1, name: 'New', is_closed: false } },
        ])
        try {
          expect(await alone.adapter().find(mine), subject).to.equal(undefined)
        } finally {
          await alone.server.close()
        }
      }
    })

    it('should compare the custom field exactly, whatever the search returns', async () => {
      const field = 3
      const issue = (id: number, value: unknown) => ({
        id,
        subject: 'x',
        status: { id: 1, name: 'New', is_closed: false },
        custom_fields: [{ id: field, name: 'Fingerprint', value }],
      })
      const fake = await fakeRedmine([
        issue(1, `${mine}x`),
        issue(2, mine.toUpperCase()),
        issue(3, ` ${mine}`),
        issue(4, [mine]),
        issue(9, mine),
      ])
      try {
        expect((await fake.adapter(field).find(mine))?.id).to.equal('9')
      } finally {
        await fake.server.close()
      }
    })

    it('should file a subject whose title cannot carry a second marker, and send the description and notes as plain text', async () => {
      const fake = await fakeRedmine([])
      try {
        const adapter = fake.adapter()
        for (const title of [
          `Error: x [fp:${mine}]`,
          `Error: [ fp : ${mine}]`,
          `Error: [FP:${mine}]`,
        ]) {
          await adapter.create({
            fingerprint: 'c'.repeat(16),
            title,
            body: `body ${MARKUP_SAMPLE}`,
            report: {} as Report,
          })
        }
        await adapter.comment({ id: '99', closed: false }, `note ${MARKUP_SAMPLE}`)
        const posts = fake.seen.filter((s) => s.method === 'POST')
        for (const post of posts) {
          const subject = String(post.body!.issue!.subject)
          expect(subject.startsWith(`[fp:${'c'.repeat(16)}] `)).to.equal(true)
          expect(subject.slice(1).match(/\[\s*fp\s*:/gi), subject).to.equal(null)
          expect(post.body!.issue!.description).to.equal(toRedmineText(`body ${MARKUP_SAMPLE}`))
        }
        expect(fake.seen.find((s) => s.method === 'PUT')!.body!.issue!.notes).to.equal(
          toRedmineText(`note ${MARKUP_SAMPLE}`),
        )
      } finally {
        await fake.server.close()
      }
    })
  })
})
