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

const EXAMPLE = join(ROOT, 'examples', 'own-pages', 'app.ts')
const INCIDENT = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/

describe('an app that answers its own 404s and errors (examples/own-pages/app.ts)', function () {
  let cwd: string
  let child: ChildProcess
  let url: string
  let stderr = ''

  const reports = async (): Promise<Report[]> =>
    (await readFile(join(cwd, 'var', 'log', 'own-pages-errors.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Report)

  /** The reports of one incident: a report is written when its response closes, just after the client has it. */
  const reportsOf = async (id: string): Promise<Report[]> => {
    for (let tries = 0; tries < 250; tries++) {
      const found = (await reports()).filter((r) => r.id === id)
      if (found.length) return found
      await sleep(20)
    }
    throw new Error(`no report ${id} in var/log/own-pages-errors.log`)
  }

  before(async function () {
    this.timeout(30_000)
    cwd = await mkdtemp(join(tmpdir(), 'faultline-own-pages-'))
    await symlink(join(ROOT, 'node_modules'), join(cwd, 'node_modules'))
    const imports = NODE_IMPORTS.map((arg) =>
      arg.startsWith('./') ? pathToFileURL(join(ROOT, arg)).href : arg,
    )
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PORT: '0' }
    for (const name of Object.keys(env))
      if (name.startsWith('FAULTLINE_') && name !== 'FAULTLINE_TEST_EXPRESS') delete env[name]
    child = spawn(process.execPath, [...imports, EXAMPLE], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    url = await waitUntil(
      () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
      15_000,
      `the example to listen (stderr: ${stderr})`,
    )
  })

  after(async function () {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    if (cwd) await rm(cwd, { recursive: true, force: true })
  })

  it('should give its own 404 page the incident id of the one warning, in the header and the page', async function () {
    const res = await request(url).get('/no/such/page')
    expect(res.status).to.equal(404)
    const id = res.headers['x-incident-id'] as string
    expect(id).to.match(INCIDENT)
    expect(res.text).to.equal(`No page here (incident ${id})`)
    const found = await reportsOf(id)
    expect(found.map((r) => [r.kind, r.status])).to.deep.equal([['warning', 404]])
  })

  it("should report the router's own 500 once, as the traceback its JSON's incident names", async function () {
    const res = await request(url).get('/api/orders')
    expect(res.status).to.equal(500)
    const id = res.headers['x-incident-id'] as string
    expect(res.body).to.deep.equal({ message: 'Internal error', incident: id })
    const found = await reportsOf(id)
    expect(found.map((r) => [r.kind, r.status, r.error?.message])).to.deep.equal([
      ['traceback', 500, 'orders table is locked'],
    ])
    expect(stderr).not.to.include('showed a stack trace')
  })
})
