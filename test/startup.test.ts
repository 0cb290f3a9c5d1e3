import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import {
  createFaultline,
  FaultlineConfigError,
  type Faultline,
  type FaultlineOptions,
  type Report,
} from '../lib/index.js'
import { captureStderr, createHarness, sleep, waitUntil } from './helpers.js'

/** A test run's app: a throw, a 404 and a logged warning, under Express's own test mode. */
async function runTestSuiteRequests(options: FaultlineOptions): Promise<Report[]> {
  const faultline = createFaultline({ spoolDir: false, ...options })
  const reports: Report[] = []
  faultline.on('report', (report) => reports.push(report))
  const app = express()
  // Express's final handler stays quiet under its test mode, as it does in an app's test run
  app.set('env', 'test')
  app.use(faultline.requestHandler())
  app.get('/boom', () => {
    throw new TypeError('total is undefined')
  })
  app.get('/odd', (req, res) => {
    req.log.warn('odd basket %s', 'B-1')
    res.send('ok')
  })
  app.use(faultline.notFound())
  app.use(faultline.errorHandler())
  await request(app).get('/boom')
  await request(app).get('/missing')
  await request(app).get('/odd')
  await waitUntil(() => (reports.length === 3 ? true : undefined), 10_000, 'three reports')
  await faultline.close()
  return reports
}

/** The first `.eml` file the outbox holds; the mail is written in the background, just after the report. */
async function waitForMail(dir: string): Promise<string> {
  const deadline = Date.now() + 3000
  for (;;) {
    const found = (await readdir(dir)).find((name) => name.endsWith('.eml'))
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no .eml file in ${dir}`)
    await sleep(20)
  }
}

describe('start-up and a test run', function () {
  describe('under NODE_ENV=test', function () {
    it('should print nothing to stderr, while every outcome is still reported', async function () {
      let reports: Report[] = []
      const out = await captureStderr(async () => {
        reports = await runTestSuiteRequests({ env: { NODE_ENV: 'test' } })
      })
      expect(reports.map((r) => r.kind)).to.have.members(['traceback', 'warning', 'warning'])
      expect(out).to.equal('')
    })

    it('should print the reports with FAULTLINE_STDERR=1, or with the option stderr: true', async function () {
      for (const options of [
        { env: { NODE_ENV: 'test', FAULTLINE_STDERR: '1' } },
        { env: { NODE_ENV: 'test' }, stderr: true },
      ]) {
        let reports: Report[] = []
        const out = await captureStderr(async () => {
          reports = await runTestSuiteRequests(options)
        })
        const boom = reports.find((r) => r.kind === 'traceback')!
        expect(out, JSON.stringify(options)).to.include(
          `TRACEBACK 500 GET /boom [${boom.id}] TypeError: total is undefined`,
        )
        expect(out).to.include('WARNING 404 GET /missing')
        // a test run gets no start-up line, whatever prints the reports
        expect(out).not.to.include('reports to')
      }
    })

    it('should take a level from FAULTLINE_STDERR, and refuse what is neither a level nor on/off', async function () {
      const out = await captureStderr(async () => {
        await runTestSuiteRequests({ env: { NODE_ENV: 'test', FAULTLINE_STDERR: 'error' } })
      })
      expect(out).to.include('TRACEBACK 500 GET /boom').and.not.include('WARNING')
      expect(() => createFaultline({ env: { NODE_ENV: 'test', FAULTLINE_STDERR: 'loud' } }))
        .to.throw(FaultlineConfigError)
        .with.property('field', 'FAULTLINE_STDERR')
    })
  })

  describe('the start-up line', function () {
    let dir: string
    const started: Faultline[] = []

    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'faultline-startup-'))
    })

    afterEach(async function () {
      await Promise.all(started.splice(0).map((f) => f.close()))
      await rm(dir, { recursive: true, force: true })
    })

    it('should name every destination and the spool directory, in one line', async function () {
      const out = await captureStderr(() => {
        started.push(
          createFaultline({
            appName: 'shop',
            file: join(dir, 'log', 'errors.log'),
            mail: { outbox: join(dir, 'outbox') },
            spoolDir: join(dir, 'spool'),
            env: { NODE_ENV: 'production' },
          }),
        )
      })
      expect(out).to.equal(
        `faultline: shop reports to stderr, file ${join(dir, 'log', 'errors.log')}, mail outbox ${join(dir, 'outbox')}; undelivered reports wait in ${join(dir, 'spool')}/\n`,
      )
      expect(existsSync(join(dir, 'spool', 'mail'))).to.equal(true)
    })

    it('should name each destination debug mode turns off, why, and how to turn it on', async function () {
      const settings = {
        appName: 'shop',
        managers: ['ops@example.org'],
        mail: 'smtp://alerts:hunter2@mail.example.org:587',
        tickets: `local:${join(dir, 'tickets')}`,
        spoolDir: false as const,
      }
      const fix = 'set force: true or FAULTLINE_FORCE=1 to send'
      const lines: string[] = []
      for (const [env, extra] of [
        [{ NODE_ENV: 'development' }, {}],
        [{ NODE_ENV: 'production', FAULTLINE_DEBUG: '1' }, {}],
        [
          { NODE_ENV: 'development' },
          { tickets: { url: `local:${join(dir, 'tickets')}`, force: true } },
        ],
      ] as const) {
        lines.push(
          await captureStderr(() => {
            started.push(createFaultline({ ...settings, ...extra, env }))
          }),
        )
      }
      const [development, fromVariable, forced] = lines.map((l) => l.split('\n').at(-2))
      expect(development).to.equal(
        `faultline: shop reports to stderr; mail off: NODE_ENV=development (debug mode); ${fix}; tickets off: NODE_ENV=development (debug mode); ${fix}`,
      )
      expect(fromVariable).to.contain(`mail off: FAULTLINE_DEBUG=1 (debug mode); ${fix}`)
      expect(forced).to.match(/^faultline: shop reports to stderr, tickets \(local /)
      expect(forced).to.contain('mail off: NODE_ENV=development')
      expect(forced).not.to.contain('tickets off')
      expect(lines.join('')).not.to.contain('hunter2')
    })

    it('should create faultline-spool/ in the working directory, at start-up, only when a transport spools', async function () {
      const cwd = process.cwd()
      let out = ''
      try {
        process.chdir(dir)
        const production = { appName: 'shop', env: { NODE_ENV: 'production' } }
        out += await captureStderr(() => {
          started.push(createFaultline(production))
        })
        expect(existsSync(join(dir, 'faultline-spool'))).to.equal(false)
        out += await captureStderr(() => {
          started.push(createFaultline({ ...production, mail: { outbox: 'var/outbox' } }))
        })
      } finally {
        process.chdir(cwd)
      }
      expect(out.split('\n')).to.deep.equal([
        'faultline: shop reports to stderr',
        'faultline: shop reports to stderr, mail outbox var/outbox; undelivered reports wait in faultline-spool/',
        '',
      ])
      expect(existsSync(join(dir, 'faultline-spool', 'mail'))).to.equal(true)
    })

    it('should name the shared store in the start-up line, never its password', async function () {
      const out = await captureStderr(() => {
        started.push(
          createFaultline({
            appName: 'shop',
            spoolDir: false,
            store: 'redis://:s3cret-pw@127.0.0.1:1/2',
            env: { NODE_ENV: 'production' },
          }),
        )
      })
      expect(out.split('\n')[0]).to.equal(
        'faultline: shop reports to stderr; shares state with its fleet on redis://127.0.0.1:1/2',
      )
      expect(out).not.to.include('s3cret')
    })

    it('should write no start-up line when stderr is off', async function () {
      const out = await captureStderr(() => {
        started.push(createFaultline({ stderr: false, env: { NODE_ENV: 'production' } }))
      })
      expect(out).to.equal('')
    })
  })

  describe('mail to an outbox', function () {
    let dir: string

    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), 'faultline-outbox-'))
    })

    afterEach(async function () {
      await rm(dir, { recursive: true, force: true })
    })

    it('should need no managers, addressing its mails to ops@localhost', async function () {
      const h = createHarness({ mail: { outbox: dir } })
      h.faultline.capture(new Error('ledger unbalanced'))
      const name = await waitForMail(dir)
      const mail = await readFile(join(dir, name), 'utf8')
      expect(mail).to.match(/^To: ops@localhost$/m)
      expect(mail).to.include('ledger unbalanced')
      await h.faultline.close()
    })

    it('should still ask for managers when mail goes to an SMTP server', function () {
      expect(() => createHarness({ mail: 'smtp://127.0.0.1:2525' }))
        .to.throw(FaultlineConfigError)
        .with.property('field', 'managers')
    })
  })
})
