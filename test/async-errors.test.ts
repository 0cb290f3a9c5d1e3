import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { createHarness, settle, sleep, type Harness } from './helpers.js'
import { EXPRESS_MAJOR } from './support/express-major.js'
import { express4 } from './support/express4.js'
import { runScript } from './support/processes.js'

// Express 4 always (what needs this), and the Express of this run when it is the other one
const versions: Array<[string, typeof express]> = [['Express 4', express4]]
if (EXPRESS_MAJOR === 5) versions.push(['Express 5', express])

async function failLater(message: string): Promise<void> {
  await sleep(5)
  throw new Error(message)
}

for (const [version, makeApp] of versions) {
  describe(`async errors on ${version}`, () => {
    let h: Harness
    beforeEach(() => {
      h = createHarness()
    })
    afterEach(() => h.faultline.close())

    function appFailing(): express.Express {
      const app = makeApp()
      app.use(h.faultline.requestHandler())
      app.get('/rejected', () => Promise.reject(new Error('rejected promise')))
      app.get('/after-await', async () => {
        await sleep(5)
        throw new Error('thrown after await')
      })
      app.get('/floated', () => {
        void failLater('floated promise')
      })
      app.get('/ok', (_req, res) => {
        res.send('ok')
      })
      app.use(h.faultline.errorHandler())
      return app
    }

    for (const [path, message] of [
      ['/rejected', 'rejected promise'],
      ['/after-await', 'thrown after await'],
      ['/floated', 'floated promise'],
    ] as const) {
      it(`should answer ${path} with the error page and report one traceback`, async () => {
        const res = await request(appFailing()).get(path).timeout(5000).expect(500)
        const id = res.headers['x-incident-id'] as string
        expect(res.text).to.contain(id)
        expect(res.text).not.to.contain(message)
        await h.waitForReports(1)
        await settle()
        expect(h.reports).to.have.length(1)
        expect(h.reports[0]).to.include({ kind: 'traceback', status: 500, id })
        expect(h.reports[0]!.error?.message).to.equal(message)
        expect(h.reports[0]!.request?.url).to.equal(path)
      })
    }

    it('should answer each of many concurrent failing requests once, and serve the others', async () => {
      const app = appFailing()
      const paths = ['/rejected', '/after-await', '/floated', '/ok'].flatMap((p) => [p, p, p])
      const answers = await Promise.all(paths.map((p) => request(app).get(p).timeout(5000)))
      expect(answers.map((a) => a.status)).to.deep.equal(
        paths.map((p) => (p === '/ok' ? 200 : 500)),
      )
      await h.waitForReports(9)
      await settle()
      expect(h.reports.map((r) => r.request?.url).sort()).to.deep.equal(
        paths.filter((p) => p !== '/ok').sort(),
      )
      const ids = answers.filter((a) => a.status === 500).map((a) => a.headers['x-incident-id'])
      expect(h.reports.map((r) => r.id).sort()).to.deep.equal(ids.sort())
    })

    it("should answer through Express's final handler under throw-errors, and still report", async () => {
      const thrower = createHarness({ throwErrors: true })
      try {
        const app = makeApp()
        app.use(thrower.faultline.requestHandler())
        app.get('/x', async () => {
          await sleep(5)
          throw new Error('for the test runner')
        })
        app.use(thrower.faultline.errorHandler())
        await request(app).get('/x').timeout(5000).expect(500)
        const [report] = await thrower.waitForReports(1)
        expect(report).to.include({ kind: 'traceback', status: 500 })
      } finally {
        await thrower.faultline.close()
      }
    })

    it("should hand the error to the app's own error middleware first", async () => {
      const app = makeApp()
      app.use(h.faultline.requestHandler())
      app.get('/x', async () => {
        await sleep(5)
        throw Object.assign(new Error('gone'), { status: 410 })
      })
      app.use(
        (
          err: { status?: number },
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          res.status(err.status ?? 500).send('the app says: gone')
        },
      )
      const res = await request(app).get('/x').timeout(5000).expect(410)
      expect(res.text).to.equal('the app says: gone')
      const [report] = await h.waitForReports(1)
      expect(report).to.include({ kind: 'warning', status: 410 })
    })

    it('should cut a response already streaming, report it, and not hang', async () => {
      const app = makeApp()
      app.use(h.faultline.requestHandler())
      app.get('/x', async (_req, res) => {
        res.write('partial')
        await sleep(5)
        throw new Error('failed mid-stream')
      })
      app.use(h.faultline.errorHandler())
      const failure = await request(app)
        .get('/x')
        .timeout(5000)
        .then(
          () => undefined,
          (err: unknown) => err as { code?: string },
        )
      expect(failure?.code).to.be.oneOf(['ECONNRESET', 'ECONNABORTED'])
      const [report] = await h.waitForReports(1)
      expect(report!.error?.message).to.equal('failed mid-stream')
      expect(report!.locus).to.equal('after-headers')
    })

    it("should report once a sub-app's error when app and sub-app each have a faultline", async () => {
      const inner = createHarness()
      try {
        const sub = makeApp()
        sub.use(inner.faultline.requestHandler())
        sub.get('/x', async () => {
          await sleep(5)
          throw new Error('in the sub-app')
        })
        sub.use(inner.faultline.errorHandler())
        const outer = makeApp()
        outer.use(h.faultline.requestHandler())
        outer.use('/sub', sub)
        outer.get('/x', async () => {
          await sleep(5)
          throw new Error('in the app')
        })
        outer.use(h.faultline.errorHandler())
        await request(outer).get('/sub/x').timeout(5000).expect(500)
        await request(outer).get('/x').timeout(5000).expect(500)
        await h.waitForReports(2)
        await settle()
        // as with a synchronous error, the sub-app hands it on and the outer instance reports it
        expect(h.reports.map((r) => [r.error?.message, r.request?.url])).to.deep.equal([
          ['in the sub-app', '/sub/x'],
          ['in the app', '/x'],
        ])
        expect(inner.reports).to.have.length(0)
      } finally {
        await inner.faultline.close()
      }
    })
  })
}

describe('async errors outside a request', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'faultline-async-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  function answered(stdout: string): string[] {
    return stdout
      .split('\n')
      .filter((line) => line.startsWith('/'))
      .map((line) => line.split(' ').slice(0, 2).join(' '))
  }

  it('should crash as Node would when neither the app nor faultline listens', async () => {
    const { stdout, stderr, code } = await runScript('async-errors-child.ts', ['node'], {
      allowFailure: true,
    })
    expect(answered(stdout)).to.deep.equal(['/rejected 500', '/timer 500'])
    expect(code).to.equal(1)
    expect(stdout).not.to.contain('still running')
    expect(stderr).to.contain('RangeError: outside any request')
  })

  it("should leave the rejection to the app's own listener, and the process running", async () => {
    const { stdout, code } = await runScript('async-errors-child.ts', ['listened'])
    expect(code).to.equal(0)
    expect(stdout).to.contain('app saw: outside any request')
    expect(stdout).to.contain('still running')
  })

  it('should leave it to handleProcessErrors: a crash report, then exit code 1', async () => {
    const file = join(dir, 'errors.log')
    const { stdout, code } = await runScript('async-errors-child.ts', ['guarded', file], {
      allowFailure: true,
    })
    expect(code).to.equal(1)
    expect(answered(stdout)).to.deep.equal(['/rejected 500', '/timer 500'])
    const reports = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string; request?: { url: string } })
    expect(reports.map((r) => [r.message, r.request?.url])).to.deep.equal([
      ['Error: thrown after await', '/rejected'],
      ['Error: thrown in a timer', '/timer'],
      ['RangeError: outside any request (unhandled rejection)', undefined],
    ])
  })
})
