import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { expect } from 'chai'
import request from 'supertest'
import type { Report } from '../lib/index.js'
import { NODE_IMPORTS, ROOT } from './support/processes.js'
import { sleep, waitUntil } from './helpers.js'

const EXAMPLE = join(ROOT, 'examples', 'setup', 'app.ts')
const INCIDENT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/
const HOST = 'shop.example'

/** The production set-up page's code, as its first code block shows it. */
async function readmeSetup(): Promise<string> {
  const page = await readFile(join(ROOT, 'docs', 'production-setup.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(page)
  if (!block) throw new Error('docs/production-setup.md has no ts code block')
  return block[1]!
}

/** The child's `--import`s: it runs from a scratch directory, so the repository's own files are named in full. */
function childImports(): string[] {
  return NODE_IMPORTS.map((arg) =>
    arg.startsWith('./') ? pathToFileURL(join(ROOT, arg)).href : arg,
  )
}

interface RunningExample {
  child: ChildProcess
  url: string
  stderr: () => string
  exited: Promise<number | null>
}

/** Starts the example as a deployment would: NODE_ENV=production, its own working directory, no FAULTLINE_*. */
async function startExample(cwd: string): Promise<RunningExample> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PORT: '0' }
  for (const name of Object.keys(env))
    if (name.startsWith('FAULTLINE_') && name !== 'FAULTLINE_TEST_EXPRESS') delete env[name]
  const child = spawn(process.execPath, [...childImports(), EXAMPLE], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  const url = await waitUntil(
    () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
    15_000,
    `the example to listen (stdout: ${stdout}, stderr: ${stderr})`,
  )
  return { child, url, stderr: () => stderr, exited }
}

async function readReports(cwd: string): Promise<Report[]> {
  const text = await readFile(join(cwd, 'var', 'log', 'shop-errors.log'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Report)
}

async function waitForReport(cwd: string, id: string): Promise<Report> {
  // a report is written when its response closes, just after the client has the page
  const deadline = Date.now() + 5000
  for (;;) {
    const found = (await readReports(cwd)).find((r) => r.id === id)
    if (found) return found
    if (Date.now() > deadline) throw new Error(`no report ${id} in var/log/shop-errors.log`)
    await sleep(20)
  }
}

describe('the production set-up (examples/setup/app.ts)', function () {
  let cwd: string
  let example: RunningExample

  before(async function () {
    this.timeout(30_000)
    cwd = await mkdtemp(join(tmpdir(), 'faultline-setup-'))
    // a deployment has its dependencies beside it; tsx is found from the working directory
    await symlink(join(ROOT, 'node_modules'), join(cwd, 'node_modules'))
    example = await startExample(cwd)
  })

  after(async function () {
    if (example && example.child.exitCode === null) example.child.kill('SIGKILL')
    if (cwd) await rm(cwd, { recursive: true, force: true })
  })

  it("should be exactly the code the README's production set-up shows", async function () {
    const file = await readFile(EXAMPLE, 'utf8')
    // the file imports the source; the README imports the package
    const asPublished = file.replace("from '../../lib/index.js'", "from 'faultline'")
    expect(await readmeSetup()).to.equal(asPublished)
  })

  it('should answer an unmatched route for a JSON client with JSON carrying the incident id, reported as a warning', async function () {
    const res = await request(example.url)
      .get('/no/such/route')
      .set('Host', HOST)
      .set('Accept', 'application/json')
    expect(res.status).to.equal(404)
    expect(res.headers['content-type']).to.match(/^application\/json/)
    const body = res.body as { message: string; code: number; incidentId: string }
    expect(body).to.deep.equal({
      message: 'Not Found',
      code: 404,
      incidentId: res.headers['x-incident-id'],
    })
    expect(body.incidentId).to.match(INCIDENT)
    const report = await waitForReport(cwd, body.incidentId)
    expect(report).to.include({ kind: 'warning', status: 404 })
    expect(report.request?.url).to.equal('/no/such/route')
  })

  it("should answer an unmatched route for a browser with faultline's page and the incident id", async function () {
    const res = await request(example.url)
      .get('/nothing-here')
      .set('Host', HOST)
      .set('Accept', 'text/html')
    expect(res.status).to.equal(404)
    expect(res.text).to.include('404 Not Found').and.include(res.headers['x-incident-id'])
    expect(res.text).not.to.include('Cannot GET')
  })

  it("should answer a thrown error in the API's own JSON shape and report a traceback", async function () {
    const res = await request(example.url)
      .post('/orders/13/refund')
      .set('Host', HOST)
      .set('Accept', 'application/json')
      .send({ amount: 10 })
    expect(res.status).to.equal(500)
    const body = res.body as { message: string; code: number; incidentId: string }
    expect(body).to.deep.equal({
      message: 'Internal Server Error',
      code: 500,
      incidentId: res.headers['x-incident-id'],
    })
    const report = await waitForReport(cwd, body.incidentId)
    expect(report).to.include({ kind: 'traceback', status: 500 })
    expect(report.error?.message).to.equal('order 13 is locked by another refund')
  })

  it('should answer a suspicious refund with a 400 in the JSON shape, reported as a warning', async function () {
    const res = await request(example.url)
      .post('/orders/7/refund')
      .set('Host', HOST)
      .set('Accept', 'application/json')
      .send({ amount: -5 })
    expect(res.status).to.equal(400)
    expect((res.body as { code: number }).code).to.equal(400)
    const report = await waitForReport(cwd, res.headers['x-incident-id'] as string)
    expect(report).to.include({ kind: 'warning', suspicious: 'bad refund amount' })
  })

  it('should name its destinations in one start-up line, and close on SIGTERM', async function () {
    const startup = example
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('faultline:'))
    expect(startup).to.deep.equal([
      'faultline: shop reports to stderr, file var/log/shop-errors.log',
    ])
    example.child.kill('SIGTERM')
    expect(await example.exited).to.equal(0)
  })
})
