import { expect } from 'chai'
import { createSentinel } from 'redis'
import { LocalStore, openStore, STORE_LIMITS } from '../../lib/store/open-store.js'
import { RedisStore, type RedisStoreLimits } from '../../lib/store/redis-store.js'
import { commanderOf, sentinelOptions } from '../../lib/store/redis-topology.js'
import { describeCoordination } from '../support/coordination-suite.js'
import { stormThroughFailover } from '../support/failover-storm.js'
import {
  describeIncidentStore,
  describeIncidentStoreBounds,
} from '../support/incident-store-suite.js'
import { startRedisSentinels, type RedisSentinels } from '../support/redis-cluster.js'

let sentinels: RedisSentinels
let client: ReturnType<typeof createSentinel>
let apps = 0

before(async function () {
  this.timeout(240_000)
  sentinels = await startRedisSentinels()
  const sentinelRootNodes = sentinels.sentinelPorts.map((port) => ({ host: '127.0.0.1', port }))
  client = createSentinel(
    sentinelOptions({ name: sentinels.name, sentinelRootNodes }, 1000) as never,
  )
  client.on('error', () => {})
  await client.connect()
})

after(async function () {
  await client?.destroy().catch(() => {})
  await sentinels?.stop()
})

function openOnSentinel(
  now: () => number,
  limits: RedisStoreLimits = STORE_LIMITS,
  app = `app${++apps}`,
) {
  const prefix = `faultline:{${app}}:`
  return Promise.resolve(
    new RedisStore(commanderOf(client, `${prefix}last`), { prefix, limits, now }),
  )
}

describeIncidentStore('redis sentinel', (now) => openOnSentinel(now))
describeIncidentStoreBounds('redis sentinel', (now) =>
  openOnSentinel(now, { retentionMs: 14 * 86_400_000, maxFingerprints: 3, maxIncidents: 5 }),
)
describeCoordination('redis sentinel', (now) => {
  const app = `fleet${++apps}`
  return Promise.resolve(() => openOnSentinel(now, STORE_LIMITS, app))
})

describe('Redis Sentinel store', function () {
  it('should survive the election of a new primary: no report lost, sharing resumes, one notice each way', async function () {
    this.timeout(120_000)
    const lines: string[] = []
    const local = new LocalStore()
    const setting = {
      kind: 'sentinel' as const,
      sentinel: {
        name: sentinels.name,
        sentinelRootNodes: sentinels.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      },
      target: sentinels.url,
      timeoutMs: 300,
    }
    const store = openStore(setting, 'storm', (notice) => lines.push(notice.text), local)
    const result = await stormThroughFailover({
      store,
      local,
      shared: await openOnSentinel(Date.now, STORE_LIMITS, 'storm'),
      lines,
      fail: async () => void (await sentinels.waitForElection(await sentinels.killPrimary())),
    })
    console.log(
      `      sentinel failover: ${JSON.stringify({ ...result, missing: result.missing.length })}`,
    )
    expect(result.missing, 'reports found nowhere').to.deep.equal([])
    expect(result.inShared + result.inLocal - result.doubled).to.equal(result.sent)
    expect(lines.filter((l) => l.includes('unavailable'))).to.have.length(1)
    expect(lines.filter((l) => l.includes('answers again'))).to.have.length(1)
    expect(store.status().outages).to.equal(1)
  })
})
