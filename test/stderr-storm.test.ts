import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import request from 'supertest'
import { StderrTransport } from '../lib/index.js'
import { createApp, createHarness } from './helpers.js'
import { repeatOnStderr } from './support/stderr-repeats.js'

const SUMMARY =
  /^\S+ TRACEBACK (\d+) repeat\(s\) of \[(\S+)\] Error: replica down fp=(\w+) \((.*)\)$/

describe('stderr in an error storm', () => {
  let dir: string
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'faultline-stderr-storm-'))))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('should summarise the repeats of one fingerprint in at most a line a second, while the file keeps every id', async () => {
    const stream = new PassThrough()
    let out = ''
    stream.on('data', (chunk) => (out += chunk))
    const file = join(dir, 'errors.log')
    const h = createHarness({ file, transports: [new StderrTransport({ stream })] })
    const repeats = 300
    const started = Date.now()
    try {
      const app = createApp(h.faultline)
      app.get('/boom', () => {
        throw new Error('replica down')
      })
      app.use(h.faultline.errorHandler())
      // bounded: the first occurrence, then its repeats in parallel batches
      await request(app).get('/boom').expect(500)
      for (let sent = 0; sent < repeats; sent += 50)
        await Promise.all(Array.from({ length: 50 }, () => request(app).get('/boom').expect(500)))
      const reports = await h.waitForReports(repeats + 1)
      await h.faultline.close()
      const seconds = Math.ceil((Date.now() - started) / 1000)
      const [full, ...rest] = reports
      const headers = out.split('\n').filter((line) => /^\S+ TRACEBACK /.test(line))
      expect(headers[0]).to.contain(`[${full!.id}] Error: replica down`)
      const summaries = headers.slice(1).map((line) => SUMMARY.exec(line))
      expect(summaries.every(Boolean), headers.join('\n')).to.equal(true)
      // one line per second that had repeats, and one at close: never a line per repeat
      expect(summaries.length).to.be.at.most(seconds + 1)
      const counted = summaries.reduce((sum, m) => sum + Number(m![1]), 0)
      expect(counted).to.equal(repeats)
      expect(summaries.every((m) => m![2] === full!.id && m![3] === full!.fingerprint)).to.equal(
        true,
      )
      expect(summaries[0]![4]).to.match(new RegExp(`^first ${rest[0]!.id}, last `))
      expect(summaries.at(-1)![4]).to.match(new RegExp(`last ${rest.at(-1)!.id}$`))
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
      const ids = lines.map((line) => (JSON.parse(line) as { id: string }).id)
      expect(new Set(ids)).to.deep.equal(new Set(reports.map((r) => r.id)))
      expect(ids).to.have.length(repeats + 1)
    } finally {
      await h.faultline.close()
    }
  })

  it('should write the summary of repeats still counted when the faultline closes', async () => {
    const { reports, out } = await repeatOnStderr(5)
    expect(out).to.contain(
      `4 repeat(s) of [${reports[0]!.id}] Error: replica down fp=${reports[0]!.fingerprint} (first ${reports[1]!.id}, last ${reports[4]!.id})\n`,
    )
  })
})
