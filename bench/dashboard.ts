/**
 * The incident view with 10 000 distinct fingerprints in the store: how long
 * the list page takes (median and p95 of N requests over loopback), the
 * error's page, the JSON API, and what the process holds (RSS, heap).
 * Runs the local store, and the Redis store on a private redis-server when
 * `redis-server` is installed (skipped with a line saying so otherwise).
 *
 *   node --expose-gc --import tsx bench/dashboard.ts [requests]
 *   node --expose-gc --import tsx bench/dashboard.ts --bounds   (the local store filled to every bound)
 */
import express from 'express'
import { createClient } from 'redis'
import { createDashboard } from '../lib/dashboard/index.js'
import { createIncidentId } from '../lib/report/incident-id.js'
import type { Report } from '../lib/report/report.js'
import { LocalIncidentStore } from '../lib/store/local-incidents.js'
import { STORE_LIMITS } from '../lib/store/open-store.js'
import { RedisStore } from '../lib/store/redis-store.js'
import type { IncidentStore } from '../lib/store/types.js'
import { startRedis } from '../test/support/redis.js'

const FINGERPRINTS = 10_000
const REPORTS_EACH = 3
const REQUESTS = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100)
const MB = 1024 * 1024

const frames = Array.from(
  { length: 12 },
  (_, i) => `    at handler${i} (/srv/app/routes/orders.js:${i * 7}:13)`,
).join('\n')

/** A report of the usual size (about 1.5 KB): a dozen frames, five headers, a route. */
function typicalReport(f: number, i: number): Report {
  const message = `Cannot read properties of undefined (reading 'item${f}')`
  return {
    id: createIncidentId(),
    kind: f % 5 === 0 ? 'warning' : 'traceback',
    level: f % 5 === 0 ? 'warn' : 'error',
    status: f % 5 === 0 ? 404 : 500,
    message: `TypeError: ${message}`,
    fingerprint: `fp-${f.toString(16).padStart(12, '0')}`,
    time: new Date().toISOString(),
    app: 'shop',
    host: 'web-1',
    pid: 4242,
    request: {
      method: 'GET',
      url: `/orders/${f}/lines/${i}?page=2`,
      route: `/orders/:id/lines/:line${f % 40}`,
      headers: {
        host: 'shop.example.org',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0',
        accept: 'text/html',
        'accept-language': 'en-GB',
        cookie: '[scrubbed]',
      },
      xhr: false,
    },
    error: { name: 'TypeError', message, stack: `TypeError: ${message}\n${frames}` },
    locus: 'before-headers',
  }
}

function gc(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

function memory(): string {
  gc()
  const m = process.memoryUsage()
  return `RSS ${(m.rss / MB).toFixed(0)} MB, heap used ${(m.heapUsed / MB).toFixed(0)} MB`
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function time(base: string, path: string, n: number): Promise<string> {
  const samples: number[] = []
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    const res = await fetch(`${base}${path}`)
    const body = await res.arrayBuffer()
    samples.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (res.status !== 200) throw new Error(`${path}: status ${res.status}`)
    bytes = body.byteLength
  }
  samples.sort((a, b) => a - b)
  return `median ${percentile(samples, 50).toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms (${n} requests, ${(bytes / 1024).toFixed(0)} KiB)`
}

async function seed(store: IncidentStore): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < REPORTS_EACH; i++)
    for (let f = 0; f < FINGERPRINTS; f++) await store.record(typicalReport(f, i))
  return Number(process.hrtime.bigint() - start) / 1e3 / (FINGERPRINTS * REPORTS_EACH)
}

async function measure(name: string, store: IncidentStore): Promise<void> {
  console.log(`\n## ${name} store`)
  console.log(`before seeding: ${memory()}`)
  const perRecord = await seed(store)
  console.log(
    `seeded ${FINGERPRINTS} fingerprints × ${REPORTS_EACH} reports: ${perRecord.toFixed(1)} µs per record(); ${memory()}`,
  )
  const app = express()
  app.use('/_faultline', createDashboard(store, { authorize: () => true }, { quiet: () => {} }))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  const base = `http://127.0.0.1:${port}/_faultline`
  try {
    const { issues } = await store.issues({ limit: 1 })
    await time(base, '/', 5) // warm-up
    console.log(`list page, by last seen:  ${await time(base, '/', REQUESTS)}`)
    console.log(`list page, by count:      ${await time(base, '/?sort=count', REQUESTS)}`)
    console.log(
      `list page, route filter:  ${await time(base, '/?route=%2Forders%2F%3Aid%2Flines%2F%3Aline7', REQUESTS)}`,
    )
    console.log(
      `error's page:             ${await time(base, `/issues/${issues[0]!.fingerprint}`, REQUESTS)}`,
    )
    console.log(`GET api/issues:           ${await time(base, '/api/issues', REQUESTS)}`)
    console.log(`after the requests: ${memory()}`)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/** Heap held by `count` fingerprints filled to every bound: 336 hourly buckets, 50 occurrences, a 16 KiB report. */
async function heapAtBounds(count: number, maxIncidents: number): Promise<number> {
  gc()
  const before = process.memoryUsage().heapUsed
  let clock = Date.now() - 336 * 3_600_000
  const store = new LocalIncidentStore({ now: () => clock, maxIncidents })
  const big = 'x'.repeat(20_000)
  for (let hour = 0; hour < 336; hour++) {
    clock += 3_600_000
    for (let f = 0; f < count; f++) {
      const report = typicalReport(f, hour)
      await store.record({
        ...report,
        error: { ...report.error!, stack: `${report.error!.stack}\n${big}` },
      })
    }
  }
  gc()
  const held = process.memoryUsage().heapUsed - before
  // the store must still be alive when the heap is measured
  if ((await store.issues({ limit: 1 })).total !== count)
    throw new Error('fingerprints went missing')
  return held
}

/** What the local store holds with every bound reached, from a sample of fingerprints, scaled up. */
async function measureBounds(sample: number): Promise<void> {
  const fingerprintsOnly = await heapAtBounds(sample, 1)
  const withIncidents = await heapAtBounds(sample, 100_000)
  const perFingerprint = fingerprintsOnly / sample
  const incidents = withIncidents - fingerprintsOnly
  console.log(
    `\n## local store at its bounds (${sample} fingerprints × 336 hours, scaled to ${FINGERPRINTS})`,
  )
  console.log(
    `per fingerprint (16 KiB report, 50 occurrences, 336 hourly buckets): ${(perFingerprint / 1024).toFixed(1)} KiB; 100 000 incidents: ${(incidents / MB).toFixed(0)} MB; ${FINGERPRINTS} fingerprints at their bounds: ${((perFingerprint * FINGERPRINTS + incidents) / MB).toFixed(0)} MB of heap`,
  )
}

console.log(`# incident view bench: ${FINGERPRINTS} distinct fingerprints, Node ${process.version}`)
if (process.argv.includes('--bounds')) {
  await measureBounds(500)
  process.exit(0)
}
// every kind bounded at FINGERPRINTS: the list is measured with all of them in the store
await measure('local', new LocalIncidentStore({ maxFingerprints: FINGERPRINTS }))

let redis: Awaited<ReturnType<typeof startRedis>> | undefined
try {
  redis = await startRedis()
} catch (err) {
  console.log(`\nRedis store skipped: ${err instanceof Error ? err.message : String(err)}`)
}
if (redis) {
  const client = createClient({ url: redis.url })
  await client.connect()
  try {
    await measure(
      'Redis',
      new RedisStore(client, {
        prefix: 'bench:{shop}:',
        limits: { ...STORE_LIMITS, maxFingerprints: FINGERPRINTS },
      }),
    )
    const used = /used_memory_human:(\S+)/.exec(
      String(await client.sendCommand(['INFO', 'memory'])),
    )
    console.log(`redis-server used_memory: ${used?.[1] ?? '?'}`)
  } finally {
    client.destroy()
    await redis.stop()
  }
}
