import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import request from 'supertest'
import { Writable } from 'node:stream'
import { createFaultline, StderrTransport, type Faultline, type Report } from '../lib/index.js'
import { createShopApp } from '../examples/shop/app.js'
import { NODE_IMPORTS } from './support/processes.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..')
const INCIDENT = /[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/
// a reported row of the tour's table: case, kind, status, request, incident id, destinations
const REPORT_ROW = new RegExp(
  `^(.+?)\\s{2,}(warning|error|traceback)\\s+(\\d{3})\\s+((?:GET|POST) \\S+)\\s+(${INCIDENT.source})\\s+(\\S+(?: \\+ \\S+)*)\\s`,
)

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function runTour(varDir: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, SHOP_VAR_DIR: varDir }
  // the demo honours FAULTLINE_*; the test must not depend on the shell it runs in
  for (const name of Object.keys(env))
    if (name.startsWith('FAULTLINE_') && name !== 'FAULTLINE_TEST_EXPRESS') delete env[name]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_IMPORTS, 'examples/shop/main.ts', '--tour'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function waitForReport(
  reports: Report[],
  test: (report: Report) => boolean,
): Promise<Report> {
  // reports are emitted when the response closes, just after the client has it
  const deadline = Date.now() + 2000
  for (;;) {
    const found = reports.find(test)
    if (found) return found
    if (Date.now() > deadline)
      throw new Error(
        `no matching report; got ${JSON.stringify(reports.map((r) => [r.kind, r.id]))}`,
      )
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('shop demo', function () {
  describe('npm run demo -- --tour', function () {
    let varDir: string
    let run: Run
    let rows: Array<{
      name: string
      kind: string
      status: number
      request: string
      id: string
      where: string
    }>

    before(async function () {
      this.timeout(60_000)
      varDir = await mkdtemp(join(tmpdir(), 'shop-demo-'))
      run = await runTour(varDir)
      rows = run.stdout.split('\n').flatMap((line) => {
        const m = REPORT_ROW.exec(line)
        return m
          ? [
              {
                name: m[1]!.trim(),
                kind: m[2]!,
                status: Number(m[3]),
                request: m[4]!,
                id: m[5]!,
                where: m[6]!,
              },
            ]
          : []
      })
    })

    after(async function () {
      if (varDir) await rm(varDir, { recursive: true, force: true })
    })

    it('exits 0 and says every outcome was reported as expected', function () {
      expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).to.equal(0)
      expect(run.stdout).to.include('Every outcome was reported as expected.')
      // the five warnings and the two 500 pages come from faultline's error handler; /checkout renders its own
      expect(run.stdout).to.include(
        '8 error pages carried an X-Incident-Id header, each the id of their report.',
      )
    })

    it('names each kind and the suspicious, xhr and abort cases', function () {
      for (const word of ['warning', 'error', 'traceback', 'suspicious', 'xhr', 'abort'])
        expect(run.stdout).to.include(word)
      expect(rows.map((r) => `${r.kind} ${r.status} ${r.request}`)).to.have.members([
        'warning 404 GET /no-such-page',
        'warning 400 GET /admin/transfer?amount=-50',
        'warning 400 GET /api/cart',
        'warning 400 POST /api/cart',
        'warning 400 GET /',
        'error 500 GET /checkout',
        'traceback 500 GET /boom',
        'traceback 500 GET /async-boom',
        'traceback 200 GET /stream',
      ])
      expect(run.stdout).to.match(/client abort\s+aborted\s+200\s+GET \/slow\s+-\s+logger \(info\)/)
      // managers are mailed errors and tracebacks; warnings stay in the log
      for (const row of rows)
        expect(row.where, row.name).to.equal(
          row.kind === 'warning' ? 'event + file + stderr' : 'event + file + stderr + mail',
        )
    })

    it('files one local ticket per distinct traceback', async function () {
      const names = (await readdir(join(varDir, 'tickets'))).filter((n) => n.endsWith('.json'))
      expect(names).to.have.length(rows.filter((r) => r.kind === 'traceback').length)
      for (const name of names) {
        const ticket = JSON.parse(await readFile(join(varDir, 'tickets', name), 'utf8')) as {
          status: string
          body: string
        }
        expect(ticket.status).to.equal('open')
        expect(rows.some((r) => ticket.body.includes(`First incident: ${r.id}`))).to.equal(true)
      }
    })

    it('writes one .eml mail per error and traceback to the outbox', async function () {
      const names = (await readdir(join(varDir, 'outbox'))).filter((n) => n.endsWith('.eml'))
      const incidents = await Promise.all(
        names.map(
          async (n) =>
            /^X-Faultline-Incident: (\S+)/im.exec(
              await readFile(join(varDir, 'outbox', n), 'utf8'),
            )?.[1],
        ),
      )
      const expected = rows.filter((r) => r.kind !== 'warning').map((r) => r.id)
      expect(incidents.sort()).to.deep.equal(expected.sort())
    })

    it('writes one JSON line per reported outcome to the log file, with the printed incident ids', async function () {
      const lines = (await readFile(join(varDir, 'log', 'shop-errors.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
      const logged = lines.map((line) => JSON.parse(line) as Report)
      expect(logged.map((r) => r.id)).to.have.members(rows.map((r) => r.id))
      for (const row of rows) {
        const report = logged.find((r) => r.id === row.id)!
        expect(report.kind, row.name).to.equal(row.kind)
        expect(`${report.request?.method} ${report.request?.url}`, row.name).to.equal(row.request)
      }
      // the abort is below the file's warn level
      expect(logged.some((r) => r.request?.url === '/slow')).to.equal(false)
    })

    it('prints the incident view URL and its demo login, and the view listed every distinct error', function () {
      const line =
        /^Incident view: (http:\/\/127\.0\.0\.1:\d+\/_faultline\/) \(log in at (\S+) as demo \/ demo\b.*listed (\d+) distinct errors\.$/m.exec(
          run.stdout,
        )
      expect(line, run.stdout).to.not.equal(null)
      expect(line![2]).to.equal(line![1]!.replace('/_faultline/', '/login'))
      expect(Number(line![3])).to.equal(new Set(rows.map((r) => `${r.kind} ${r.request}`)).size)
    })

    it('prints every report to stderr too', function () {
      for (const row of rows) expect(run.stderr, row.name).to.include(`[${row.id}]`)
    })
  })

  describe('createShopApp', function () {
    let faultline: Faultline
    let server: Server
    const reports: Report[] = []

    before(function (done) {
      // env: false keeps FAULTLINE_* in the shell from changing what is tested
      // a transport that discards, because a winston logger with none prints every report to the console
      const discard = new StderrTransport({
        stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      })
      faultline = createFaultline({
        appName: 'shop',
        debug: false,
        throwErrors: false,
        stderr: false,
        transports: [discard],
        allowedHosts: ['127.0.0.1'],
        env: false,
      })
      faultline.on('report', (report) => reports.push(report))
      server = createServer(createShopApp(faultline)).listen(0, '127.0.0.1', done)
    })

    after(async function () {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await faultline.close()
    })

    it('answers /boom with a 500 whose X-Incident-Id is the id of its traceback report', async function () {
      const res = await request(server).get('/boom').set('Accept', 'text/html')
      expect(res.status).to.equal(500)
      const id = res.headers['x-incident-id'] as string | undefined
      expect(id).to.match(INCIDENT)
      const report = await waitForReport(reports, (r) => r.id === id)
      expect(report).to.include({ kind: 'traceback', status: 500 })
      expect(report.error?.name).to.equal('TypeError')
      expect(res.text).to.include(id).and.not.include('customer')
    })

    it('shows the incident view after the demo login, and a 404 before it', async function () {
      await request(server).get('/boom')
      expect((await request(server).get('/_faultline/')).status).to.equal(404)
      const login = await request(server)
        .post('/login')
        .type('form')
        .send({ user: 'demo', password: 'demo' })
      expect(login.status).to.equal(303)
      expect(login.headers.location).to.equal('/_faultline/')
      const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]!.split(';')[0]!
      const view = await request(server).get('/_faultline/').set('Cookie', cookie)
      expect(view.status).to.equal(200)
      expect(view.text).to.include('TypeError')
      const wrong = await request(server)
        .post('/login')
        .type('form')
        .send({ user: 'demo', password: 'nope' })
      expect(wrong.status).to.equal(401)
    })

    it('reports /checkout, a req.log.error and the 500 page it explains, as one error', async function () {
      const res = await request(server).get('/checkout')
      expect(res.status).to.equal(500)
      expect(res.text).to.include('Checkout unavailable')
      const report = await waitForReport(reports, (r) => r.request?.url === '/checkout')
      expect(report).to.include({
        kind: 'error',
        status: 500,
        message: 'db inconsistent for order 1001',
      })
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(reports.filter((r) => r.request?.url === '/checkout')).to.have.length(1)
    })
  })
})
