import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall, outputTail, runCommand } from './apt.js'
import { getFreePort } from './ports.js'

// Debian's interpreter: a pyenv shim named python3 may come first on PATH without Debian's jinja2
const PYTHON = '/usr/bin/python3'
const VENDOR = join(import.meta.dirname, '..', 'fixtures', 'trac')
const TARBALLS = ['trac-1.6-min.tar.gz', 'tracxmlrpc-1.2.0-min.tar.gz']
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A ticket as `ticket.get` returns it, its attributes flattened. */
export interface TracTicket {
  id: number
  summary: string
  description: string
  status: string
  resolution: string
  keywords: string
  type: string
  _ts: string
  [field: string]: unknown
}

/** A private Trac 1.6 with TracXMLRPC on 127.0.0.1, stopped by PID. Always call `close()`. */
export interface Trac {
  /** The environment's root, `http://127.0.0.1:PORT`. */
  url: string
  user: string
  password: string
  pid: number
  /** Seconds: the whole start-up, and the last restart. */
  timings: Record<string, number>
  /** One JSON-RPC call as the bot; rejects with Trac's error. */
  rpc(method: string, params: unknown[]): Promise<unknown>
  /** The HTML Trac renders for a ticket, as a logged-in browser sees it. */
  ticketPage(id: number): Promise<string>
  tickets(): Promise<TracTicket[]>
  ticket(id: number): Promise<TracTicket>
  /** Comments of a ticket, oldest first. */
  comments(id: number): Promise<string[]>
  closeTicket(id: number): Promise<void>
  deleteAll(): Promise<void>
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Installs python3-jinja2 when Debian's Python lacks it; fails naming the apt-get line. */
async function ensureJinja(): Promise<void> {
  const probe = () => runCommand(PYTHON, ['-c', 'import jinja2, pkg_resources'], 30_000)
  if ((await probe()).ok) return
  const installed = await aptInstall(['python3-jinja2'], Date.now() + 300_000)
  if (!(await probe()).ok)
    throw new Error(
      `Trac needs Debian's python3-jinja2 (apt-get install python3-jinja2): ${outputTail(installed)}`,
    )
}

async function must(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  input = '',
): Promise<string> {
  const result = await new Promise<{ ok: boolean; output: string }>((resolve) => {
    const child = spawn(command, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    child.on('close', (code) => resolve({ ok: code === 0, output }))
    child.on('error', (err) => resolve({ ok: false, output: err.message }))
    child.stdin.end(input)
  })
  // trac-admin exits 0 even when a command failed
  if (!result.ok || /Error/.test(result.output))
    throw new Error(`${command} ${args.join(' ')} failed: ${result.output.slice(-1500)}`)
  return result.output
}

/** Unpacks the vendored sources, makes an environment with an admin bot, and starts tracd on a free port. */
export async function startTrac(): Promise<Trac> {
  const began = performance.now()
  await ensureJinja()
  const dir = await mkdtemp(join(tmpdir(), 'faultline-trac-'))
  for (const tarball of TARBALLS) await must('tar', ['-xzf', join(VENDOR, tarball), '-C', dir])
  const port = await getFreePort()
  const url = `http://127.0.0.1:${port}`
  const user = 'bot'
  const password = `s3cret-${Math.random().toString(36).slice(2)}`
  const env = {
    ...process.env,
    PYTHONPATH: `${join(dir, 'trac-1.6')}:${join(dir, 'tracxmlrpc-1.2.0')}`,
    PYTHONDONTWRITEBYTECODE: '1',
  }
  const ini = join(dir, 'extra.ini')
  await writeFile(
    ini,
    `[components]\ntracrpc.* = enabled\n[ticket]\ndefault_owner =\n[trac]\nbase_url = ${url}\ndatabase = sqlite:db/trac.db\n[project]\nname = faultline-test\n`,
  )
  const envDir = join(dir, 'env')
  // one trac-admin for every command: each start of it costs most of a second
  // (viewer may log in and call the API, but not file tickets: the missing-permission case)
  const commands = [
    `initenv --config=${ini}`,
    `permission add ${user} TRAC_ADMIN`,
    'permission add viewer XML_RPC',
    // Trac lets every logged-in user file and change tickets by default
    'permission remove authenticated TICKET_CREATE TICKET_MODIFY',
  ]
  await must(PYTHON, ['-m', 'trac.admin.console', envDir], env, `${commands.join('\n')}\n`)
  const sha = (p: string) => createHash('sha1').update(p).digest('base64')
  await writeFile(
    join(dir, 'htpasswd'),
    `${user}:{SHA}${sha(password)}\nviewer:{SHA}${sha(password)}\n`,
  )

  let pid = 0
  const timings: Record<string, number> = {}
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

  async function rpc(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(`${url}/login/rpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: auth },
      body: JSON.stringify({ method, params, id: 1 }),
    })
    if (res.status !== 200) throw new Error(`${method}: HTTP ${res.status}`)
    const body = (await res.json()) as { result: unknown; error: { message: string } | null }
    if (body.error) throw new Error(`${method}: ${body.error.message}`)
    return body.result
  }

  async function launch(): Promise<void> {
    const log = openSync(join(dir, 'tracd.log'), 'a')
    const child = spawn(
      PYTHON,
      [
        '-m',
        'trac.web.standalone',
        '-s',
        '-b',
        '127.0.0.1',
        '-p',
        String(port),
        '--basic-auth',
        `*,${join(dir, 'htpasswd')},Trac`,
        envDir,
      ],
      { env, stdio: ['ignore', log, log] },
    )
    closeSync(log)
    pid = child.pid ?? 0
    child.unref()
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        await rpc('system.getAPIVersion', [])
        return
      } catch {
        if (!alive(pid) || Date.now() > deadline) {
          const tail = readFileSync(join(dir, 'tracd.log'), 'utf8').slice(-1500)
          throw new Error(`tracd did not answer on ${url}: ${tail}`)
        }
        await sleep(100)
      }
    }
  }

  const killOnExit = () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL')
  }
  process.on('exit', killOnExit)
  await launch()
  timings.startTrac = Math.round(performance.now() - began) / 1000

  const flatten = (answer: unknown): TracTicket => {
    const [id, , , attrs] = answer as [number, unknown, unknown, Omit<TracTicket, 'id'>]
    return { ...attrs, id } as TracTicket
  }

  async function tickets(): Promise<TracTicket[]> {
    const ids = (await rpc('ticket.query', ['max=0&order=id'])) as number[]
    return Promise.all(ids.map(async (id) => flatten(await rpc('ticket.get', [id]))))
  }

  async function comments(id: number): Promise<string[]> {
    const log = (await rpc('ticket.changeLog', [id])) as Array<
      [unknown, string, string, string, string]
    >
    return log
      .filter(([, , field, , text]) => field === 'comment' && text)
      .map(([, , , , text]) => text)
  }

  async function stop(): Promise<void> {
    if (!pid || !alive(pid)) return
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + 10_000
    while (alive(pid) && Date.now() < deadline) await sleep(50)
    if (alive(pid)) process.kill(pid, 'SIGKILL')
    while (alive(pid)) await sleep(20)
  }

  return {
    url,
    user,
    password,
    get pid() {
      return pid
    },
    timings,
    rpc,
    ticketPage: async (id) => {
      const res = await fetch(`${url}/login`, {
        headers: { Authorization: auth },
        redirect: 'manual',
      })
      const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
      const page = await fetch(`${url}/ticket/${id}`, { headers: { Cookie: cookie } })
      if (page.status !== 200) throw new Error(`GET /ticket/${id}: HTTP ${page.status}`)
      return page.text()
    },
    tickets,
    ticket: async (id) => flatten(await rpc('ticket.get', [id])),
    comments,
    closeTicket: async (id) => {
      const { _ts } = flatten(await rpc('ticket.get', [id]))
      await rpc('ticket.update', [
        id,
        '',
        { action: 'resolve', action_resolve_resolve_resolution: 'fixed', _ts },
        false,
      ])
    },
    deleteAll: async () => {
      const ids = (await rpc('ticket.query', ['max=0'])) as number[]
      for (const id of ids) await rpc('ticket.delete', [id])
    },
    stop,
    start: async () => {
      const t = performance.now()
      if (alive(pid)) throw new Error(`tracd is still running (PID ${pid})`)
      await launch()
      timings.restart = Math.round(performance.now() - t) / 1000
    },
    close: async () => {
      await stop()
      process.off('exit', killOnExit)
      if (existsSync(dir)) await rm(dir, { recursive: true, force: true })
    },
  }
}
