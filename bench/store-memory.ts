/**
 * What a fingerprint costs in Redis: records reports into a private
 * redis-server and reads `used_memory` before and after.
 *
 *   node --import tsx bench/store-memory.ts
 */
import { createClient } from 'redis'
import { createIncidentId } from '../lib/report/incident-id.js'
import type { Report } from '../lib/report/report.js'
import { STORE_LIMITS } from '../lib/store/open-store.js'
import { RedisStore } from '../lib/store/redis-store.js'
import { startRedis } from '../test/support/redis.js'

const FINGERPRINTS = 1000
const REPORTS_EACH = 10

const frames = Array.from(
  { length: 12 },
  (_, i) => `    at handler${i} (/srv/app/routes/orders.js:${i * 7}:13)`,
).join('\n')

/** A report of the usual size: a dozen frames, five headers, a route. */
function typicalReport(
  fingerprint: string,
  i: number,
  message = 'Cannot read properties of undefined',
): Report {
  return {
    id: createIncidentId(),
    kind: 'traceback',
    level: 'error',
    status: 500,
    message: `TypeError: ${message}`,
    fingerprint,
    time: new Date().toISOString(),
    app: 'shop',
    host: 'web-1',
    pid: 4242,
    request: {
      method: 'GET',
      url: `/orders/${i}?page=2`,
      route: '/orders/:id',
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

const server = await startRedis()
const client = createClient({ url: server.url })
await client.connect()
const store = new RedisStore(client, { prefix: 'bench:{shop}:', limits: STORE_LIMITS })
const used = async () =>
  Number(/used_memory:(\d+)/.exec(String(await client.sendCommand(['INFO', 'memory'])))![1])

try {
  const before = await used()
  for (let f = 0; f < FINGERPRINTS; f++)
    for (let i = 0; i < REPORTS_EACH; i++) await store.record(typicalReport(`fp-${f}`, i))
  const typical = (await used()) - before

  const incidentsBefore = await used()
  for (let i = 0; i < 1000; i++) await store.record(typicalReport('fp-0', i))
  const perIncident = ((await used()) - incidentsBefore) / 1000

  // a fingerprint at its bounds: the report cut to its 16 KiB, 50 occurrences, every hour of 14 days
  const worstBefore = await used()
  const start = Date.now()
  let clock = start
  const worst = new RedisStore(client, {
    prefix: 'bench:{shop}:',
    limits: STORE_LIMITS,
    now: () => clock,
  })
  for (let hour = 0; hour < 14 * 24; hour++) {
    clock = start + hour * 3_600_000
    await worst.record(typicalReport('fp-worst', hour, 'x'.repeat(20_000)))
  }
  const incidents = 14 * 24 * perIncident
  const worstFingerprint = (await used()) - worstBefore - incidents

  console.log(
    `typical fingerprint (1 KB report, ${REPORTS_EACH} incidents): ${(typical / FINGERPRINTS / 1024).toFixed(1)} KiB`,
  )
  console.log(`each incident kept for lookup: ${Math.round(perIncident)} bytes`)
  console.log(
    `fingerprint at its bounds (16 KiB report, 50 occurrences, 336 hourly buckets), incidents aside: ${(worstFingerprint / 1024).toFixed(1)} KiB`,
  )
} finally {
  client.destroy()
  await server.stop()
}
