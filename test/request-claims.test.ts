import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { renderReport } from '../lib/dashboard/report-view.js'
import type { Report } from '../lib/index.js'
import { composeReportMail } from '../transports/mail/format.js'
import { ticketBody } from '../transports/ticket/format.js'
import { createHarness, settle, sleep, type Harness } from './helpers.js'
import { EXPRESS_MAJOR } from './support/express-major.js'
import { express4 } from './support/express4.js'
import { runScript } from './support/processes.js'

interface Printed {
  report?: string
  url?: string
  status?: number
  attribution?: string
  id?: string
  path?: string
  incident?: string | null
  failed?: string
}

function printed(stdout: string): Printed[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Printed)
}

function fileReports(file: string): Report[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Report)
}

// Express 4 always (where these crashed first), and the Express of this run when it is the other one
const majors: Array<'4' | '5'> = EXPRESS_MAJOR === 5 ? ['4', '5'] : ['4']

for (const major of majors) {
  describe(`errors claimed for their request, in a process of its own, on Express ${major}`, function () {
    this.timeout(60_000)
    let dir: string
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'faultline-claims-'))
    })
    afterEach(() => rm(dir, { recursive: true, force: true }))

    const run = (mode: string, ...args: string[]) =>
      runScript('request-claims-child.ts', [major, mode, ...args], { allowFailure: true })

    it('should report a floated promise that rejects after the response was sent, and live on', async () => {
      const { stdout, code } = await run('late-rejection')
      expect(code).to.equal(0)
      expect(stdout).to.contain('still running')
      const reports = printed(stdout).filter((p) => p.report)
      expect(reports).to.have.length(1)
      expect(reports[0]).to.include({
        report: 'Error: late rejection',
        url: '/late-rejection',
        attribution: 'async-context',
      })
    })

    for (const mode of ['exit-listener', 'exit-listener-guarded']) {
      it(`should have the report of a timer's throw in the file before the app's own exit-on-crash listener ends the process (${mode === 'exit-listener' ? 'without' : 'with'} handleProcessErrors)`, async () => {
        const file = join(dir, 'errors.log')
        const { code } = await run(mode, file)
        expect(code).to.equal(1)
        const reports = fileReports(file)
        expect(
          reports.map((r) => [r.message, r.request?.url, r.status, r.attribution]),
        ).to.deep.equal([['Error: thrown in a timer', '/timer', 500, 'async-context']])
      })
    }

    it("should not crash on the handler's own late write after faultline answered its request", async () => {
      const { stdout, code } = await run('late-write')
      expect(code).to.equal(0)
      expect(stdout).to.contain('still running')
      const lines = printed(stdout)
      const answer = lines.find((p) => p.path === '/late-write')
      const reports = lines.filter((p) => p.report)
      expect(answer?.status).to.equal(500)
      expect(reports.map((r) => r.report)).to.deep.equal([
        'Error: failed before the handler wrote',
        'Error: Cannot set headers after they are sent to the client',
      ])
      expect(reports[0]!.id).to.equal(answer?.incident)
    })

    it("should say a pool callback's error was tied by async context only, and tie it exactly through faultline.bind", async () => {
      const { stdout, code } = await run('pool')
      expect(code).to.equal(0)
      expect(stdout).to.contain('still running')
      const lines = printed(stdout)
      const answer = (path: string) => lines.find((p) => p.path === path)
      const reportOf = (text: string) => lines.find((p) => p.report === text)
      // alice's request opened the shared socket: bob's error surfaces in her context, and the report says so
      expect(reportOf('Error: no orders for bob')).to.include({
        url: '/query?user=alice',
        attribution: 'async-context',
      })
      expect(answer('/query?user=alice')?.status).to.equal(200)
      // nobody knows bob's request: it gets what the app's own server timeout gives, a closed socket
      expect(answer('/fail?user=bob')?.failed).to.equal('UND_ERR_SOCKET')
      // bound, carol's callback is carol's: her 500, her report, exact
      const carol = reportOf('Error: no orders for carol')
      expect(carol).to.include({ url: '/fail-bound?user=carol', status: 500, attribution: 'exact' })
      expect(answer('/fail-bound?user=carol')).to.include({ status: 500, incident: carol?.id })
      expect(answer('/query?user=dave')?.status).to.equal(200)
      expect(lines.filter((p) => p.report)).to.have.length(2)
    })
  })
}

const versions: Array<[string, typeof express]> = [['Express 4', express4]]
if (EXPRESS_MAJOR === 5) versions.push(['Express 5', express])

for (const [version, makeApp] of versions) {
  describe(`attribution on ${version}`, () => {
    let h: Harness
    beforeEach(() => {
      h = createHarness()
    })
    afterEach(() => h.faultline.close())

    function app(): express.Express {
      const a = makeApp()
      a.use(h.faultline.requestHandler())
      a.get('/sync', () => {
        throw new Error('sync throw')
      })
      a.get('/next', (_req, _res, next) => next(new Error('passed to next')))
      a.get('/logged', (req, res) => {
        req.log.error('hand-written')
        res.status(500).send('no')
      })
      a.get('/status', (_req, res) => res.status(503).send('busy'))
      // floated: in this process mocha's own listener would fail a test for a timer's throw
      a.get('/floated', () => {
        void sleep(2).then(() => {
          throw new Error('floated rejection')
        })
      })
      a.get('/bound', (_req, res) => {
        const later = h.faultline.bind((what: string) => {
          throw new Error(`bound ${what}`)
        })
        setTimeout(() => {
          if (later('throw') !== undefined) res.send('not reached')
        }, 2)
      })
      a.use(h.faultline.errorHandler())
      return a
    }

    it('should say exact for every error that came through the request', async () => {
      const a = app()
      for (const path of ['/sync', '/next', '/logged', '/status', '/bound'])
        await request(a).get(path).timeout(5000)
      await h.waitForReports(5)
      await settle()
      expect(h.reports.map((r) => [r.request?.url, r.attribution])).to.deep.equal([
        ['/sync', 'exact'],
        ['/next', 'exact'],
        ['/logged', 'exact'],
        ['/status', 'exact'],
        ['/bound', 'exact'],
      ])
      expect(h.reports[4]).to.include({ status: 500, message: 'Error: bound throw' })
    })

    it('should say async-context for a throw found only through the async context, and say it in words', async () => {
      await request(app()).get('/floated').timeout(5000).expect(500)
      const [report] = await h.waitForReports(1)
      expect(report!.attribution).to.equal('async-context')
      const words = 'tied to this request by async context only'
      const mail = composeReportMail(report!)
      expect(mail.text).to.contain(words)
      expect(mail.html).to.contain(words)
      expect(ticketBody(report!)).to.contain(words)
      expect(renderReport(report!, process.cwd())).to.contain(words)
    })

    it('should say exact, or nothing about attribution, where it does not need saying', async () => {
      await request(app()).get('/sync').timeout(5000).expect(500)
      const [report] = await h.waitForReports(1)
      expect(composeReportMail(report!).text).not.to.contain('async context')
      expect(ticketBody(report!)).not.to.contain('async context')
    })
  })
}
