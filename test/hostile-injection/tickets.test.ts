import { expect } from 'chai'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import request from 'supertest'
import type { Report } from '../../lib/report/report.js'
import { occurrencesComment, ticketBody, toRedmineText } from '../../transports/ticket/format.js'
import { ensureMarkup, renderMarkup } from '../support/markup.js'
import { createApp, createHarness, waitUntil } from '../helpers.js'

describe('hostile input', () => {
  describe('ticket text', () => {
    const MARKUP = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '[click](https://evil.example/md)',
      'https://evil.example/bare',
      'www.evil.example',
      '**bold** _em_ ~~del~~',
      '</pre><a href="https://evil.example/a">x</a>',
      '"textile":https://evil.example/t !https://evil.example/i.png!',
      '&lt;b&gt; &amp; &#60;',
      '| a | b |',
      '<notextile>*x*</notextile> <code>y</code>',
      '{{toc}}',
    ]
    const MULTILINE = '```\n# Heading\n````\n<b>after the fence</b>\nh1. textile heading'
    // what the layout itself uses; anything else in the rendered HTML came from the input
    const LAYOUT = new Set(['h1', 'h2', 'h3', 'ul', 'li', 'strong', 'code', 'pre', 'p'])
    const strip = (text: string) => text.replace(/\u200b/g, '')

    let base: string
    before(async function () {
      this.timeout(600_000)
      base = mkdtempSync(join(tmpdir(), 'faultline-tickets-hostile-'))
      await ensureMarkup()
    })
    after(() => rmSync(base, { recursive: true, force: true }))

    async function fileHostileTicket(dir: string): Promise<Report> {
      const h = createHarness({ tickets: `local:${dir}` })
      try {
        const app = createApp(h.faultline)
        app.get('/t', (req) => {
          req.log.error(`logged ${MARKUP.join(' ')}\n${MULTILINE}`)
          throw new Error(`failed for ${MARKUP.join(' ')} [fp:0123456789abcdef]`)
        })
        app.use(h.faultline.errorHandler())
        await request(app)
          .get('/t')
          .query({ q: MARKUP[0] })
          .set('User-Agent', `UA ${MARKUP.join(' ')}`)
          .set('Referer', `https://evil.example/ref?${MARKUP[2]}`)
          .expect(500)
        const [report] = await h.waitForReports(1)
        await waitUntil(
          () => (readdirSync(dir).some((f) => f.endsWith('.md')) ? true : undefined),
          10_000,
          'the ticket',
        )
        return report!
      } finally {
        await h.faultline.close()
      }
    }

    it('should render the local Markdown ticket with no link, image, tag or emphasis from the input, every input shown as text', async function () {
      this.timeout(30_000)
      const dir = join(base, 'local')
      const report = await fileHostileTicket(dir)
      const md = readFileSync(
        join(
          dir,
          readdirSync(dir).find((f) => f.endsWith('.md'))!,
        ),
        'utf8',
      )
      const [rendered] = renderMarkup([{ format: 'gfm', text: md }])
      const unexpected = rendered!.elements.filter((e) => !LAYOUT.has(e))
      expect(unexpected, rendered!.html).to.deep.equal([])
      expect(
        rendered!.elements.filter((e) => e === 'strong'),
        'only the status is bold',
      ).to.have.length(1)
      expect(rendered!.elements.filter((e) => e === 'h1')).to.have.length(1)
      for (const text of [...MARKUP, ...MULTILINE.split('\n')])
        expect(rendered!.text, text).to.contain(text)
      expect(rendered!.html).to.not.match(/<a |<img|<script/i)
      expect(report.message).to.contain('[fp:0123456789abcdef]')
      // the title says what the message said, but cannot pass for a Redmine marker
      const title = /<h1>([\s\S]*?)<\/h1>/.exec(rendered!.html)![1]!
      expect(title).to.contain('failed for')
      expect(title).to.not.contain('[fp:')
    })

    it('should make the Redmine description and notes plain text under both Textile and CommonMark', function () {
      this.timeout(30_000)
      const report = {
        id: 'AAAA-BBBB-CCCC',
        kind: 'traceback',
        level: 'error',
        status: 500,
        message: `Error: ${MARKUP.join(' ')}`,
        fingerprint: 'f'.repeat(16),
        time: '2026-01-01T00:00:00.000Z',
        app: 'shop',
        host: 'web-1',
        pid: 1,
        request: {
          method: 'GET',
          url: `/t?q=${MARKUP.join('')}`,
          headers: { 'user-agent': MARKUP.join(' '), 'x-note': MULTILINE },
          userAgent: MARKUP.join(' '),
          referer: MARKUP[2],
          xhr: false,
        },
        logs: [{ level: 'error', message: `${MARKUP.join(' ')}\n${MULTILINE}` }],
        error: {
          name: 'Error',
          message: MARKUP.join(' '),
          stack: `Error: ${MARKUP.join(' ')}\n${MULTILINE}\n    at f (/app/x.js:1:1)`,
        },
      } as unknown as Report
      const texts = [
        ticketBody(report),
        occurrencesComment(
          3,
          report.time,
          [{ id: 'X', time: report.time, url: `/t?${MARKUP.join('')}\n${MULTILINE}` }],
          report.time,
        ),
      ]
      const items = texts.flatMap((text) =>
        (['textile', 'common_mark'] as const).map((format) => ({
          format,
          text: toRedmineText(text),
          plain: text,
        })),
      )
      const rendered = renderMarkup(items.map(({ format, text }) => ({ format, text })))
      rendered.forEach((r, i) => {
        expect(r.elements, `${items[i]!.format}: ${r.html}`).to.deep.equal(['pre'])
        expect(strip(r.text).trim(), items[i]!.format).to.equal(items[i]!.plain.trim())
      })
    })
  })
})
