import { Agent, request } from 'node:http'
import { sleep } from '../helpers.js'
import { spawnScript, type RunningScript } from './processes.js'
import type { TestSmtpServer } from './smtp.js'

// Several app processes (test/fixtures/fleet-app.ts) sharing one store, and the requests that storm them.

export interface Member {
  script: RunningScript
  port: number
}

export const agent = new Agent({ keepAlive: true, maxSockets: 32 })

export async function startFleet(count: number, env: NodeJS.ProcessEnv): Promise<Member[]> {
  const scripts = Array.from({ length: count }, () =>
    spawnScript('fleet-app.ts', [], { env: { ...process.env, ...env } }),
  )
  try {
    // four processes compiling through tsx on two loaded cores have taken 35 s to listen
    const fleet = await Promise.all(
      scripts.map(async (script) => {
        const line = await script.waitForLine((l) => l.startsWith('{"port"'), 90_000)
        return { script, port: (JSON.parse(line) as { port: number }).port }
      }),
    )
    if (env.FLEET_STORE?.startsWith('redis')) await untilShared(fleet)
    return fleet
  } catch (err) {
    // a fleet that never started is nobody's to stop: left running, it would keep mocha from exiting
    for (const script of scripts) script.child.kill('SIGKILL')
    throw err
  }
}

/** Waits until every member answers through the shared store (a member that found it slow at start-up retries each second). */
export async function untilShared(fleet: Member[]): Promise<void> {
  const shared = async (m: Member) => {
    const res = await fetch(`http://127.0.0.1:${m.port}/store`)
    return ((await res.json()) as { shared: boolean }).shared
  }
  const deadline = Date.now() + 60_000
  while (!(await Promise.all(fleet.map(shared))).every(Boolean)) {
    if (Date.now() > deadline) throw new Error('the fleet did not reach the shared store')
    await sleep(100)
  }
}

/** Closes each member with SIGTERM (its last digests and comments go out) and waits for it to exit. */
export async function stopFleet(fleet: Member[]): Promise<void> {
  await Promise.all(
    fleet.map(async (m) => {
      if (m.script.child.exitCode === null) m.script.child.kill('SIGTERM')
      await m.script.exited
    }),
  )
}

/** One GET on loopback; resolves with its status and how long it took, in milliseconds. */
export function get(port: number, path: string): Promise<{ status: number; ms: number }> {
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        }),
      )
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      // a kept-alive socket the server closed for idling just as this request went out: the server
      // never read it, so it is sent again on a fresh socket (the retry Node's http docs show)
      if (req.reusedSocket && err.code === 'ECONNRESET') get(port, path).then(resolve, reject)
      else reject(err)
    })
    req.end()
  })
}

/** Sends every path, round-robin over the fleet, `parallel` at a time; resolves with each request's time. */
export async function storm(fleet: Member[], paths: string[], parallel = 16): Promise<number[]> {
  const times: number[] = []
  let next = 0
  const worker = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      const { ms } = await get(fleet[i % fleet.length]!.port, paths[i]!)
      times.push(ms)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return times
}

/** `count` paths of one error kind. */
export function many(kind: string, count: number): string[] {
  return Array.from({ length: count }, () => `/boom/${kind}`)
}

/** Interleaves lists, so the kinds of a storm arrive mixed. */
export function mixed(...lists: string[][]): string[] {
  const out: string[] = []
  for (let i = 0; out.length < lists.reduce((n, l) => n + l.length, 0); i++)
    for (const list of lists) if (i < list.length) out.push(list[i]!)
  return out
}

export interface Printed {
  report?: string
  fingerprint?: string
  held?: number
}

export function printed(fleet: Member[]): Printed[] {
  return fleet.flatMap((m) =>
    m.script.lines.filter((l) => l.startsWith('{"report"')).map((l) => JSON.parse(l) as Printed),
  )
}

/** The mails about one error kind: its first mail(s) and its digests with their counts. */
export function mailsAbout(
  server: TestSmtpServer,
  kind: string,
): { firsts: number; digests: number[] } {
  const subjects = server.received
    .map((r) => r.mail.subject ?? '')
    .filter((s) => s.includes(`fleet error ${kind} `))
  const digests = subjects
    .map((s) => / (\d+) more: /.exec(s)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
  return { firsts: subjects.length - digests.length, digests }
}
