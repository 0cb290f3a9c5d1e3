import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getFreePort } from './ports.js'

/** An issue as `GET /issues.json` lists it (only the fields the tests use are typed). */
export interface RedmineIssue {
  id: number
  subject: string
  status: { id: number; name: string; is_closed?: boolean }
  /** Redmine sends `null` when there is none; normalised to `''` here. Redmine stores `\n` as `\r\n`. */
  description: string
  custom_fields?: Array<{ id: number; name: string; value: string }>
}

/** An issue as `GET /issues/:id.json?include=journals` returns it. */
export interface RedmineIssueDetail extends RedmineIssue {
  /** Oldest first. A status-only change gives a journal with `notes: ''`. */
  journals: Array<{
    id?: number
    notes: string
    details?: Array<{
      property: string
      name: string
      old_value: string | null
      new_value: string | null
    }>
  }>
}

export interface RedmineResponse {
  status: number
  headers: Headers
  /** Parsed JSON, or `null` for an empty body (204, and Redmine's 401s), or the raw text if it is not JSON. */
  // tests read Redmine's JSON by its documented shape, field by field; typing every answer would add nothing
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

/**
 * A private Redmine 5.0 (Debian packages, SQLite, WEBrick) on 127.0.0.1, started by `start-redmine.sh`.
 * Always call `close()` (e.g. in an `after` hook).
 */
export interface Redmine {
  url: string
  apiKey: string
  projectId: number
  projectIdentifier: string
  /** A second public project (`<identifier>-cf`), for checking that searches stay inside one project. */
  otherProjectId: number
  trackerId: number
  fingerprintFieldId: number
  /** The first IssueStatus with is_closed (Debian default data: 5 "Closed"). */
  closedStatusId: number
  /** The tracker's default status (Debian default data: 1 "New"). */
  openStatusId: number
  /** The server's PID (changes with every `start()`). */
  pid: number
  stateDir: string
  /** Seconds per step as measured by the script (INSTALL, CONFIGURE, START) and by Node (startRedmine, the last stop that killed a server, restart). */
  timings: Record<string, number>

  /** Any REST call against this server; `apiKey: null` sends no key. Never throws on HTTP status. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; apiKey?: string | null; query?: Record<string, string> },
  ): Promise<RedmineResponse>
  /** `GET /issues.json` with `project_id`, `status_id=*` and `limit=100` (each overridable), following pagination. */
  listIssues(query?: Record<string, string>): Promise<RedmineIssue[]>
  /** `GET /issues/:id.json?include=journals`. */
  getIssue(id: number): Promise<RedmineIssueDetail>
  /** Sets the closed status and checks it took (Redmine ignores a status change the workflow forbids, still 204). */
  closeIssue(id: number): Promise<void>
  /** Deletes every issue of the project, closed ones included, for isolation between tests. */
  deleteAllIssues(): Promise<void>
  /** SIGTERM by PID, wait for the process to be gone (SIGKILL after 10 s). */
  stop(): Promise<void>
  /** Starts the server again on the same port and database (for outage tests). */
  start(): Promise<void>
  /** Stops the server and removes the state dir; the Debian packages stay installed. */
  close(): Promise<void>
}

export interface StartRedmineOptions {
  /** Project identifier to create/use (default `errors`); a second one `<identifier>-cf` is made too. */
  projectIdentifier?: string
  /** For the whole script, install included (default 170 s, under a 180 s `before` timeout). */
  timeoutMs?: number
}

const PACKAGES = 'apt-get install redmine redmine-sqlite'
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'start-redmine.sh')
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

// www-data must reach the state dir: every ancestor needs the "others" execute bit (TMPDIR may be a mode-700 dir).
function stateBase(): string {
  const base = tmpdir()
  let dir = base
  for (;;) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return '/tmp'
    } catch {
      return '/tmp'
    }
    const up = dirname(dir)
    if (up === dir) return base
    dir = up
  }
}

/** A process counts as gone when it no longer exists or is a zombie nobody has reaped yet. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m) env[m[1]!] = m[2]!
  }
  return env
}

/** Runs the script with output appended to `log`; kills its process group on timeout unless it is inside apt-get. */
async function runScript(
  stateDir: string,
  port: number,
  args: string[],
  timeoutMs: number,
  projectIdentifier: string,
): Promise<Record<string, string>> {
  const log = join(stateDir, 'start.log')
  const fd = openSync(log, 'a')
  const child = spawn('bash', [SCRIPT, ...args], {
    cwd: '/',
    detached: true, // own process group, so a timeout can kill the script and anything it started
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      REDMINE_PORT: String(port),
      REDMINE_STATE_DIR: stateDir,
      REDMINE_PROJECT_IDENTIFIER: projectIdentifier,
    },
  })
  closeSync(fd)
  const failure = (why: string) => {
    const server = tail(join(stateDir, 'server.log'), 15)
    return new Error(
      `Redmine did not start (${why}). It needs root and the Debian packages (${PACKAGES}); ` +
        `the script installs them itself if apt works.\n--- start-redmine.sh output (tail):\n${tail(log)}\n--- server.log (tail):\n${server}`,
    )
  }
  let timer: NodeJS.Timeout | undefined
  const result = await new Promise<{
    code: number | null
    signal: string | null
    timedOut: boolean
    error?: Error
  }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, timedOut: false, error }))
    child.once('exit', (code, signal) => resolve({ code, signal, timedOut: false }))
    timer = setTimeout(() => resolve({ code: null, signal: null, timedOut: true }), timeoutMs)
  })
  clearTimeout(timer)
  if (result.error) throw failure(`could not run bash ${SCRIPT}: ${result.error.message}`)
  if (result.timedOut) {
    let phase = ''
    try {
      phase = readFileSync(join(stateDir, 'phase'), 'utf8').trim()
    } catch {
      // the script had not written its phase yet
    }
    if (phase === 'install') {
      // Killing apt-get/dpkg midway would break the package database: let it finish on its own.
      child.unref()
      throw failure(
        `timed out after ${timeoutMs} ms while installing packages; the install goes on in the background`,
      )
    }
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // the group is already gone
    }
    throw failure(`timed out after ${timeoutMs} ms in phase "${phase}"`)
  }
  if (result.code !== 0)
    throw failure(`start-redmine.sh exited with ${result.code ?? result.signal}`)
  return parseEnv(await readFile(join(stateDir, 'env'), 'utf8'))
}

function num(env: Record<string, string>, key: string): number {
  const n = Number(env[key])
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`start-redmine.sh wrote no valid ${key} (got ${env[key]})`)
  return n
}

/**
 * Starts a private Redmine on a free port of 127.0.0.1 (installing and configuring it first when needed)
 * and returns REST helpers authenticated with the admin API key.
 */
export async function startRedmine(options: StartRedmineOptions = {}): Promise<Redmine> {
  if (process.getuid?.() !== 0)
    throw new Error(
      `Redmine tests must run as root (they install ${PACKAGES} and run it as www-data)`,
    )
  const began = performance.now()
  const projectIdentifier = options.projectIdentifier ?? 'errors'
  const stateDir = await mkdtemp(join(stateBase(), 'faultline-redmine-'))
  const port = await getFreePort()
  const base = `http://127.0.0.1:${port}`
  let env: Record<string, string>
  try {
    env = await runScript(stateDir, port, [], options.timeoutMs ?? 170_000, projectIdentifier)
  } catch (err) {
    // keep the state dir only while apt-get may still be running in it; never leave a half-started server behind
    if (!/in the background/.test(String(err))) {
      try {
        const leftover = Number(readFileSync(join(stateDir, 'redmine.pid'), 'utf8'))
        if (leftover > 0 && alive(leftover)) process.kill(leftover, 'SIGKILL')
      } catch {
        // no pid file: the server never started
      }
      await rm(stateDir, { recursive: true, force: true })
    }
    throw err
  }
  if (env.REDMINE_URL !== base)
    throw new Error(`start-redmine.sh reported ${env.REDMINE_URL}, expected ${base}`)

  const timings: Record<string, number> = {}
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('REDMINE_TIME_')) timings[k.slice(13).toLowerCase()] = Number(v)
  timings.startRedmine = seconds(began)

  let pid = num(env, 'REDMINE_PID')
  const killOnExit = () => {
    if (alive(pid)) process.kill(pid, 'SIGKILL')
  }
  process.on('exit', killOnExit)

  const apiKey = env.REDMINE_API_KEY ?? ''
  const projectId = num(env, 'REDMINE_PROJECT_ID')
  const closedStatusId = num(env, 'REDMINE_CLOSED_STATUS_ID')

  async function request(
    method: string,
    path: string,
    opts: { body?: unknown; apiKey?: string | null; query?: Record<string, string> } = {},
  ): Promise<RedmineResponse> {
    const url = new URL(path, base)
    if (url.origin !== base) throw new Error(`refusing to call ${url.href}: only ${base}`)
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v)
    const headers: Record<string, string> = { Accept: 'application/json' }
    const key = opts.apiKey === undefined ? apiKey : opts.apiKey
    if (key !== null) headers['X-Redmine-API-Key'] = key
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
    const res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    })
    const text = await res.text()
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let body: any = null
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text)
      } catch {
        body = text
      }
    }
    return { status: res.status, headers: res.headers, body }
  }

  async function expectStatus(
    res: RedmineResponse,
    want: number,
    what: string,
  ): Promise<RedmineResponse> {
    if (res.status !== want)
      throw new Error(`${what}: HTTP ${res.status}, expected ${want}: ${JSON.stringify(res.body)}`)
    return res
  }

  const normalise = <T extends { description?: string | null }>(
    issue: T,
  ): T & { description: string } => ({ ...issue, description: issue.description ?? '' })

  async function listIssues(query: Record<string, string> = {}): Promise<RedmineIssue[]> {
    const all: RedmineIssue[] = []
    for (let offset = 0; ;) {
      const q = {
        project_id: String(projectId),
        status_id: '*',
        limit: '100',
        ...query,
        offset: String(offset),
      }
      const res = await expectStatus(
        await request('GET', '/issues.json', { query: q }),
        200,
        'GET /issues.json',
      )
      const page = res.body as { issues: RedmineIssue[]; total_count: number }
      all.push(...page.issues.map(normalise))
      offset += page.issues.length
      if (page.issues.length === 0 || offset >= page.total_count) return all
    }
  }

  async function getIssue(id: number): Promise<RedmineIssueDetail> {
    const res = await expectStatus(
      await request('GET', `/issues/${id}.json`, { query: { include: 'journals' } }),
      200,
      `GET /issues/${id}.json`,
    )
    const issue = (res.body as { issue: RedmineIssueDetail }).issue
    return { ...normalise(issue), journals: issue.journals ?? [] }
  }

  async function closeIssue(id: number): Promise<void> {
    await expectStatus(
      await request('PUT', `/issues/${id}.json`, {
        body: { issue: { status_id: closedStatusId } },
      }),
      204,
      `closing issue ${id}`,
    )
    const after = await getIssue(id)
    if (after.status.id !== closedStatusId)
      throw new Error(`issue ${id} is still "${after.status.name}" after closing (workflow?)`)
  }

  async function deleteAllIssues(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const issues = await listIssues()
      if (issues.length === 0) return
      for (const { id } of issues) {
        const res = await request('DELETE', `/issues/${id}.json`)
        // 404: already gone with a deleted parent issue
        if (res.status !== 204 && res.status !== 404)
          throw new Error(`DELETE /issues/${id}.json: HTTP ${res.status}`)
      }
    }
    throw new Error('issues keep reappearing in the project')
  }

  async function stop(): Promise<void> {
    const t = performance.now()
    if (alive(pid)) {
      process.kill(pid, 'SIGTERM')
      const deadline = Date.now() + 10_000
      while (alive(pid) && Date.now() < deadline) await sleep(50)
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL')
        while (alive(pid)) await sleep(50)
      }
      timings.stop = seconds(t)
    }
  }

  async function start(): Promise<void> {
    const t = performance.now()
    if (alive(pid)) throw new Error(`Redmine is still running (PID ${pid}); stop() it first`)
    const again = await runScript(stateDir, port, ['--start-only'], 60_000, projectIdentifier)
    pid = num(again, 'REDMINE_PID')
    timings.restart = seconds(t)
  }

  async function close(): Promise<void> {
    await stop()
    process.off('exit', killOnExit)
    await rm(stateDir, { recursive: true, force: true })
  }

  return {
    url: base,
    apiKey,
    projectId,
    projectIdentifier: env.REDMINE_PROJECT_IDENTIFIER ?? projectIdentifier,
    otherProjectId: num(env, 'REDMINE_OTHER_PROJECT_ID'),
    trackerId: num(env, 'REDMINE_TRACKER_ID'),
    fingerprintFieldId: num(env, 'REDMINE_CF_FINGERPRINT_ID'),
    closedStatusId,
    openStatusId: num(env, 'REDMINE_OPEN_STATUS_ID'),
    get pid() {
      return pid
    },
    stateDir,
    timings,
    request,
    listIssues,
    getIssue,
    closeIssue,
    deleteAllIssues,
    stop,
    start,
    close,
  }
}
