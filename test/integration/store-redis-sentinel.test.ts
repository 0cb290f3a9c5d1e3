import { createSentinel } from 'redis'
import { LocalStore, openStore, STORE_LIMITS } from '../../lib/store/open-store.js'
import { sentinelOptions } from '../../lib/store/redis-topology.js'
import { expectFailoverSurvived, stormThroughFailover } from '../support/failover-storm.js'
import { describeTopologyStore } from '../support/topology-stores.js'
import { startRedisSentinels, type RedisSentinels } from '../support/redis-cluster.js'

let sentinels: RedisSentinels
let client: ReturnType<typeof createSentinel>

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

const openOnSentinel = describeTopologyStore('redis sentinel', () => client)

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
      // the default deadline: a shorter one is missed by a loaded event loop, and a second outage said
      timeoutMs: 1000,
    }
    const store = openStore(setting, 'storm', (notice) => lines.push(notice.text), local)
    const result = await stormThroughFailover({
      store,
      local,
      shared: await openOnSentinel(Date.now, STORE_LIMITS, 'storm'),
      lines,
      fail: async () => void (await sentinels.waitForElection(await sentinels.killPrimary())),
    })
    expectFailoverSurvived('sentinel', result, lines, store)
  })
})
