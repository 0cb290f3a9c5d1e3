/**
 * What the shared store costs on the error path: one app process answering
 * `/boom` (a traceback, mailed to an outbox through the throttle, counted by
 * the store) with the store local, then with Redis (a private redis-server),
 * in alternating rounds; requests/s and p50 of each, and their ratio.
 *
 *   node --import tsx bench/fleet.ts [--rounds 3] [--requests 4000] [--parallel 16] [--timeout MS]
 *
 * `--timeout` is the store's deadline per call (default 1000 ms): past it the
 * call is answered locally and Redis counts as gone for a second.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { spawnScript, type RunningScript } from '../test/support/processes.js'
import { startRedis } from '../test/support/redis.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '4000' },
    parallel: { type: 'string', default: '16' },
    timeout: { type: 'string' },
  },
})
const ROUNDS = Number(values.rounds)
const REQUESTS = Number(values.requests)
const PARALLEL = Number(values.parallel)
const WARMUP = 500

interface Server {
  script: RunningScript
  port: number
}

const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL })

async function startServer(store: string, outbox: string): Promise<Server> {
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    FLEET_STORE: store,
    FLEET_OUTBOX: outbox,
    FLEET_QUIET: '1',
    ...(values.timeout ? { FLEET_STORE_TIMEOUT_MS: values.timeout } : {}),
  }
  const script = spawnScript('fleet-app.ts', [], { env })
  const line = await script.waitForLine((l) => l.startsWith('{"port"'))
  return { script, port: (JSON.parse(line) as { port: number }).port }
}

function get(port: number, path: string): Promise<number> {
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6))
    })
    req.on('error', reject)
    req.end()
  })
}

/** `count` requests to `/boom/A`, `PARALLEL` at a time: requests/s and every latency. */
async function load(port: number, count: number): Promise<{ rps: number; times: number[] }> {
  const times: number[] = []
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next++ < count) times.push(await get(port, '/boom/A'))
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
  return { rps: count / ((performance.now() - started) / 1000), times }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const redis = await startRedis()
const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-fleet-'))
const servers = {
  local: await startServer('local', join(dir, 'local')),
  redis: await startServer(redis.url, join(dir, 'redis')),
}
const results = {
  local: { rps: [] as number[], p50: [] as number[] },
  redis: { rps: [] as number[], p50: [] as number[] },
}
try {
  for (const server of Object.values(servers)) await load(server.port, WARMUP)
  for (let round = 0; round < ROUNDS; round++) {
    // the order turns each round, so a neighbour's load falls on both alike
    const order = round % 2 ? (['redis', 'local'] as const) : (['local', 'redis'] as const)
    for (const name of order) {
      const { rps, times } = await load(servers[name].port, REQUESTS)
      results[name].rps.push(rps)
      results[name].p50.push(median(times))
    }
  }
} finally {
  for (const server of Object.values(servers)) server.script.child.kill('SIGTERM')
  await Promise.all(Object.values(servers).map((s) => s.script.exited))
  agent.destroy()
  await redis.stop()
  rmSync(dir, { recursive: true, force: true })
}
const local = { rps: median(results.local.rps), p50: median(results.local.p50) }
const shared = { rps: median(results.redis.rps), p50: median(results.redis.p50) }
const redisStderr = servers.redis.script.stderr()
console.log(
  `/boom, ${PARALLEL} at a time, medians of ${ROUNDS} rounds of ${REQUESTS}: ` +
    `store local ${local.rps.toFixed(0)} req/s, p50 ${local.p50.toFixed(2)} ms; ` +
    `store redis ${shared.rps.toFixed(0)} req/s (${(shared.rps / local.rps).toFixed(2)}×), ` +
    `p50 ${shared.p50.toFixed(2)} ms (${(shared.p50 / local.p50).toFixed(2)}×)` +
    `${values.timeout ? `, store deadline ${values.timeout} ms` : ''}` +
    `${/unavailable/.test(redisStderr) ? ' — the store fell back to local state during the run, see stderr' : ''}`,
)
if (redisStderr) process.stderr.write(redisStderr)
