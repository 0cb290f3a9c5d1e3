/**
 * The guided tour behind `npm run demo -- --tour`: one request per outcome,
 * then a table of what faultline reported, and where each report went.
 *
 * Every request carries an `X-Tour-Step` header; reports copy the request's
 * headers, so each report is matched to the request that caused it without
 * guessing from URLs.
 */
import { request as httpRequest } from 'node:http'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import TransportStream from 'winston-transport'
import type { Faultline, Report, ReportKind } from '../../lib/index.js'
import { mailOutbox, reportFile, stderrTransport, ticketDir } from './destinations.js'
import { DEMO_LOGIN, INCIDENT_VIEW_MOUNT, demoAuthorization } from './ops.js'

type Expected = ReportKind | 'ok' | 'aborted'

interface Step {
  /** The case, as the table names it. */
  name: string
  method: string
  path: string
  expect: Expected
  headers?: Record<string, string>
  body?: string
  /** Hang up as soon as the first bytes of the body arrive, as a user closing the tab would. */
  abort?: boolean
}

/** What the client saw. */
interface ClientResult {
  status?: number
  incident?: string
  bytes: number
  ending: 'complete' | 'cut' | 'hung up' | 'failed'
  error?: string
}

const XHR = { 'X-Requested-With': 'XMLHttpRequest' }
const STEP_HEADER = 'x-tour-step'

function tourSteps(base: string): Step[] {
  return [
    { name: 'ok page', method: 'GET', path: '/', expect: 'ok' },
    { name: 'ok JSON', method: 'GET', path: '/orders/42', expect: 'ok' },
    { name: 'ok xhr call', method: 'GET', path: '/api/cart', expect: 'ok', headers: XHR },
    {
      name: 'broken internal link',
      method: 'GET',
      path: '/no-such-page',
      expect: 'warning',
      headers: { Referer: `${base}/broken-link` },
    },
    {
      name: 'suspicious request',
      method: 'GET',
      path: '/admin/transfer?amount=-50',
      expect: 'warning',
    },
    { name: 'xhr-only, no XHR header', method: 'GET', path: '/api/cart', expect: 'warning' },
    {
      name: 'malformed JSON body',
      method: 'POST',
      path: '/api/cart',
      expect: 'warning',
      headers: { ...XHR, 'Content-Type': 'application/json' },
      body: '{"sku": "teapot"',
    },
    {
      name: 'host not allowed',
      method: 'GET',
      path: '/',
      expect: 'warning',
      headers: { Host: 'shop.evil.example' },
    },
    { name: 'hand-written error', method: 'GET', path: '/checkout', expect: 'error' },
    { name: 'sync throw', method: 'GET', path: '/boom', expect: 'traceback' },
    { name: 'async rejection', method: 'GET', path: '/async-boom', expect: 'traceback' },
    { name: 'fails mid-body', method: 'GET', path: '/stream', expect: 'traceback' },
    { name: 'client abort', method: 'GET', path: '/slow', expect: 'aborted', abort: true },
  ]
}

/** Sends one request with node:http, which lets the tour set Host and hang up mid-body. */
function send(base: string, step: Step, index: number): Promise<ClientResult> {
  return new Promise((resolve) => {
    const result: ClientResult = { bytes: 0, ending: 'failed' }
    let settled = false
    const settle = (ending: ClientResult['ending'], error?: string) => {
      if (settled) return
      settled = true
      result.ending = ending
      if (error) result.error = error
      resolve(result)
    }
    // agent: false, so no keep-alive socket outlives the tour
    const req = httpRequest(new URL(step.path, base), {
      method: step.method,
      headers: { ...step.headers, [STEP_HEADER]: String(index) },
      agent: false,
    })
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')))
    req.on('error', (err) => settle('failed', err.message))
    req.on('response', (res) => {
      result.status = res.statusCode
      const incident = res.headers['x-incident-id']
      if (typeof incident === 'string') result.incident = incident
      res.on('data', (chunk: Buffer) => {
        result.bytes += chunk.length
        if (step.abort) {
          settle('hung up')
          req.destroy()
        }
      })
      res.on('error', () => settle('cut'))
      res.on('close', () => settle(res.complete ? 'complete' : 'cut'))
    })
    req.end(step.body)
  })
}

/** Sees every line the logger writes, the info-level ones included: a client abort is only ever logged at info. */
class Recorder extends TransportStream {
  readonly seen: Array<Record<string, unknown>> = []
  constructor() {
    super({ level: 'info' })
  }
  override log(info: Record<string, unknown>, next: () => void): void {
    this.seen.push(info)
    next()
  }
}

function stepOf(request: unknown): number | undefined {
  const value = (request as { headers?: Record<string, string> } | undefined)?.headers?.[
    STEP_HEADER
  ]
  return value === undefined ? undefined : Number(value)
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

function table(rows: string[][], notes: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)))
  return rows.flatMap((row, i) => [
    row
      .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!)))
      .join('  ')
      .trimEnd(),
    ...(notes[i] ?? []).map((note) => `${' '.repeat(widths[0]! + 2)}↳ ${note}`),
  ])
}

/** What the incident view's JSON API lists, asked with the demo login as any client would. */
async function lookAtIncidentView(base: string): Promise<{ total?: number; error?: string }> {
  try {
    const res = await fetch(`${base}${INCIDENT_VIEW_MOUNT}/api/issues`, {
      headers: { Authorization: demoAuthorization() },
    })
    const body = (await res.json()) as { total?: unknown }
    return typeof body.total === 'number'
      ? { total: body.total }
      : { error: `status ${res.status}` }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

export interface TourOptions {
  faultline: Faultline
  /** Where the shop listens, e.g. `http://127.0.0.1:41234`. */
  base: string
  /** Closes the server and the faultline instance; the tour reads the report file back only once it is flushed. */
  shutdown: () => Promise<void>
  print: (line: string) => void
}

/** Runs the tour; resolves to whether every outcome was reported as expected, everywhere expected. */
export async function runTour({ faultline, base, shutdown, print }: TourOptions): Promise<boolean> {
  const steps = tourSteps(base)
  const reports = steps.map((): Report[] => [])
  const strays: Report[] = []
  faultline.on('report', (report) => {
    const index = stepOf(report.request)
    ;(index === undefined ? strays : (reports[index] ?? strays)).push(report)
  })
  const recorder = new Recorder()
  faultline.logger.add(recorder)
  const stderr = stderrTransport(faultline)
  const onStderr = new Set<string>()
  // the stderr line of a client abort has no id: it is known by its tour step
  const abortsOnStderr = new Set<number>()
  stderr?.on('logged', (info: { id?: unknown; event?: unknown; request?: unknown }) => {
    if (typeof info.id === 'string') onStderr.add(info.id)
    const index = stepOf(info.request)
    if (info.event === 'aborted' && index !== undefined) abortsOnStderr.add(index)
  })
  const file = reportFile(faultline)
  const outbox = mailOutbox(faultline)
  const tickets = ticketDir(faultline)
  const abortLog = (index: number) =>
    recorder.seen.find((info) => info.event === 'aborted' && stepOf(info.request) === index)

  print(`Tour of the shop at ${base}: ${steps.length} requests, one per outcome.`)
  print(
    stderr
      ? "faultline's stderr transport is on: its lines for each report (with the stack of a traceback) follow.\n"
      : '',
  )
  const client: ClientResult[] = []
  for (const [index, step] of steps.entries()) client.push(await send(base, step, index))

  // reports go out when a response closes, a moment after the client has its answer
  const arrived = await until(
    () =>
      steps.every((step, i) =>
        step.expect === 'ok'
          ? true
          : step.expect === 'aborted'
            ? abortLog(i) !== undefined
            : reports[i]!.length > 0,
      ),
    5000,
  )
  // a little longer, so a report that should not exist has the time to show up
  await new Promise((resolve) => setTimeout(resolve, 200))
  const view = await lookAtIncidentView(base)
  await shutdown()

  const allReports = reports.flat()
  const problems: string[] = []
  // the shop always configures a file: not finding it is a fault, not a reason to skip the file checks
  if (!file) problems.push('no file transport on the logger, though the shop configures one')
  if (!stderr) problems.push('no stderr transport on the logger, though the shop turns stderr on')
  if (!arrived) problems.push('some expected reports did not arrive within 5 s')
  const fileLines = new Map<string, number>()
  const abortsInFile = new Set<number>()
  let badLines = 0
  if (file) {
    const read = async () => {
      fileLines.clear()
      badLines = 0
      const text = await readFile(file.path, 'utf8').catch(() => '')
      for (const line of text.split('\n').filter(Boolean)) {
        let parsed: { id?: string; event?: string; request?: unknown }
        try {
          parsed = JSON.parse(line) as typeof parsed
        } catch {
          badLines++
          continue
        }
        const { id, event, request } = parsed
        if (id) fileLines.set(id, (fileLines.get(id) ?? 0) + 1)
        const index = stepOf(request)
        if (event === 'aborted' && index !== undefined) abortsInFile.add(index)
      }
    }
    await read()
    // the file stream may still be flushing just after close; give it a moment before calling a line missing
    if (!allReports.every((r) => fileLines.has(r.id))) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      await read()
    }
    if (badLines) problems.push(`${file.shown} holds ${badLines} line(s) that are not JSON`)
  }

  // close() flushed the mail queue: every mail is an .eml file by now, named by its incident in a header
  const mailed = new Map<string, number>()
  if (!outbox) problems.push('no mail outbox on the logger, though the shop configures one')
  else {
    for (const name of await readdir(outbox.path).catch(() => [] as string[])) {
      if (!name.endsWith('.eml')) continue
      const head = (await readFile(join(outbox.path, name), 'utf8')).split(/\r?\n\r?\n/)[0] ?? ''
      const incident = /^X-Faultline-Incident: (\S+)/im.exec(head)?.[1]
      if (incident) mailed.set(incident, (mailed.get(incident) ?? 0) + 1)
    }
  }

  const rows = [['CASE', 'KIND', 'STATUS', 'REQUEST', 'INCIDENT', 'REPORTED TO', 'MESSAGE']]
  const notes: string[][] = [[]]
  for (const [i, step] of steps.entries()) {
    const got = client[i]!
    const mine = reports[i]!
    const request = `${step.method} ${step.path}`
    const note: string[] = []
    if (got.ending === 'cut')
      note.push(
        `client: status ${got.status}, then the connection was cut after ${got.bytes} bytes`,
      )
    if (got.ending === 'hung up') note.push(`client: hung up after ${got.bytes} bytes`)
    if (got.ending === 'failed') problems.push(`${step.name}: the request failed: ${got.error}`)
    if (step.expect === 'ok' || step.expect === 'aborted') {
      if (mine.length)
        problems.push(
          `${step.name} (${request}): expected no report, got ${mine.map((r) => r.kind).join(', ')}`,
        )
    }
    if (step.expect === 'ok') {
      rows.push([
        step.name,
        'ok',
        String(got.status ?? '-'),
        request,
        '-',
        'nothing',
        'nothing went wrong: no report',
      ])
    } else if (step.expect === 'aborted') {
      const logged = abortLog(i)
      if (!logged)
        problems.push(`${step.name} (${request}): no info line with event 'aborted' was logged`)
      // in production both the file and stderr start at warn; FAULTLINE_DEBUG=1 lowers stderr to debug
      const where = [
        'logger (info)',
        ...(abortsInFile.has(i) ? ['file'] : []),
        ...(abortsOnStderr.has(i) ? ['stderr'] : []),
      ]
      rows.push([
        step.name,
        'aborted',
        String(logged?.status ?? '-'),
        request,
        '-',
        where.join(' + '),
        String(logged?.message ?? '(missing)'),
      ])
      note.push(
        `not the app's fault: no report event, one info line with event: aborted${where.length === 1 ? ', below the warn level of the file and stderr' : ''}`,
      )
    } else if (mine.length === 0) {
      problems.push(`${step.name} (${request}): expected a ${step.expect} report, none arrived`)
      rows.push([
        step.name,
        `${step.expect}?`,
        String(got.status ?? '-'),
        request,
        '-',
        'nothing',
        '(missing)',
      ])
    }
    for (const report of mine) {
      if (step.expect !== 'ok' && step.expect !== 'aborted' && report.kind !== step.expect) {
        problems.push(`${step.name} (${request}): expected a ${step.expect}, got a ${report.kind}`)
      }
      if (got.incident !== undefined && got.incident !== report.id)
        problems.push(
          `${step.name}: the page's X-Incident-Id ${got.incident} is not the report's id ${report.id}`,
        )
      const where = ['event']
      if (file && fileLines.get(report.id) === 1) where.push('file')
      else if (file)
        problems.push(
          `${step.name}: ${file.shown} holds ${fileLines.get(report.id) ?? 0} lines for incident ${report.id}, expected 1`,
        )
      if (onStderr.has(report.id)) where.push('stderr')
      else if (stderr) problems.push(`${step.name}: incident ${report.id} never reached stderr`)
      // managers are mailed errors and tracebacks, never warnings
      const mails = mailed.get(report.id) ?? 0
      if (mails === 1 && report.kind !== 'warning') where.push('mail')
      else if (outbox && mails !== (report.kind === 'warning' ? 0 : 1))
        problems.push(
          `${step.name}: ${mails} mails in ${outbox.shown} for incident ${report.id} (a ${report.kind})`,
        )
      rows.push([
        step.name,
        report.kind,
        String(report.status ?? '-'),
        request,
        report.id,
        where.join(' + '),
        cut(report.message, 70),
      ])
      if (report.suspicious && !report.message.startsWith(report.suspicious))
        note.push(`suspicious: ${report.suspicious}`)
      if (report.request?.referer)
        note.push(
          `referer ${report.request.referer} (${report.request.internalReferer ? 'internal: a broken link of our own' : 'external'})`,
        )
      if (report.locus && report.locus !== 'before-headers') note.push(`locus: ${report.locus}`)
      if (report.logs?.length)
        note.push(`merged ${report.logs.length} req.log line(s) with the ${report.status} response`)
    }
    if (mine.length > 1) note.push(`${mine.length} reports for this one request`)
    notes.push(note)
  }
  for (const stray of strays)
    problems.push(`a report no tour request explains: ${stray.kind} ${stray.message}`)

  print('')
  print(
    `What was reported where (event = faultline.on('report'), file = ${file?.shown ?? 'no file configured'}, stderr = the lines above, mail = an .eml file in ${outbox?.shown ?? 'no outbox'}):`,
  )
  print('')
  for (const line of table(rows, notes)) print(line)
  print('')
  const count = (kind: ReportKind) => allReports.filter((r) => r.kind === kind).length
  print(
    `${allReports.length} reports: ${count('warning')} warnings, ${count('error')} error, ${count('traceback')} tracebacks; ` +
      `${steps.filter((s) => s.expect === 'ok').length} ok requests and 1 client abort made no report.`,
  )
  const pages = allReports.filter((r) => client[stepOf(r.request) ?? -1]?.incident === r.id).length
  print(`${pages} error pages carried an X-Incident-Id header, each the id of their report.`)
  if (file)
    print(
      `${file.shown} got ${allReports.filter((r) => fileLines.has(r.id)).length} JSON lines from this tour, one per report.`,
    )
  if (outbox)
    print(
      `${outbox.shown} got ${[...mailed.values()].reduce((a, b) => a + b, 0)} mails, one per error and traceback.`,
    )
  if (tickets) {
    const filed = (await readdir(tickets.path).catch(() => [] as string[])).filter((n) =>
      n.endsWith('.json'),
    )
    const expected = new Set(
      allReports.filter((r) => r.kind === 'traceback').map((r) => r.fingerprint),
    ).size
    print(
      `${tickets.shown} holds ${filed.length} tickets, one per distinct traceback (with a .md rendering each).`,
    )
    if (filed.length !== expected)
      problems.push(`${tickets.shown} holds ${filed.length} tickets, expected ${expected}`)
  }
  const distinct = new Set(allReports.map((r) => r.fingerprint)).size
  print(
    `Incident view: ${base}${INCIDENT_VIEW_MOUNT}/ (log in at ${base}/login as ${DEMO_LOGIN.user} / ${DEMO_LOGIN.password}; \`npm run demo\` keeps it open) listed ${view.total ?? '?'} distinct errors.`,
  )
  if (view.total !== distinct)
    problems.push(
      `the incident view listed ${view.total ?? 'nothing'} distinct errors, expected ${distinct}${view.error ? `: ${view.error}` : ''}`,
    )
  if (problems.length === 0) {
    print('Every outcome was reported as expected.')
    return true
  }
  print(`\n${problems.length} problem(s):`)
  for (const problem of problems) print(`  ✗ ${problem}`)
  return false
}
