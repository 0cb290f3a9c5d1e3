import { expect } from 'chai'
import { createCluster } from 'redis'
import { createFaultline, FaultlineConfigError } from '../../lib/index.js'
import { LocalStore, openStore, STORE_LIMITS } from '../../lib/store/open-store.js'
import { clusterOptions } from '../../lib/store/redis-topology.js'
import { expectFailoverSurvived, stormThroughFailover } from '../support/failover-storm.js'
import { makeReport } from '../support/incident-store-suite.js'
import { describeTopologyStore, expectStoreRefused } from '../support/topology-stores.js'
import { cli, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'

type Cluster = ReturnType<typeof createCluster>

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let cluster: RedisCluster
let client: Cluster

before(async function () {
  this.timeout(240_000)
  cluster = await startRedisCluster()
  // as faultline makes its own: a default client's offline queue rejects unhandled inside node-redis when a failover drops a node
  const rootNodes = cluster.ports.map((port) => ({ socket: { host: '127.0.0.1', port } }))
  client = createCluster(clusterOptions({ rootNodes }, 1000) as never)
  client.on('error', () => {})
  await client.connect()
})

after(async function () {
  client?.destroy()
  await cluster?.stop()
})

const openOnCluster = describeTopologyStore('redis cluster', () => client)

describe('Redis Cluster store', function () {
  it("should keep every key of an app in its hash tag's slot, on the one primary that owns it", async function () {
    this.timeout(30_000)
    const store = await openOnCluster(Date.now, STORE_LIMITS, 'slotted')
    for (let i = 0; i < 30; i++)
      await store.record(makeReport(`fp-${i % 7}`, { kind: i % 3 ? 'traceback' : 'warning' }))
    await store.gather('mail', 'fp-0', '{}', { id: 'A', time: 't' }, 60_000)
    await store.gather('mail', 'fp-0', '{}', { id: 'B', time: 't', url: '/b' }, 60_000)
    await store.admit('warnings:1.2.3.4', 5, 60_000)
    await store.claim('ticket:fp-0', 60_000)
    await store.mute('fp-1', Date.now() + 60_000)
    expect((await store.issues()).total).to.equal(7)
    const slot = await cli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', '{slotted}')
    const holders: number[] = []
    for (const port of cluster.ports) {
      const keys = (await cli(port, '--scan', '--pattern', 'faultline:{slotted}:*')).trim()
      if (keys) holders.push(port)
      for (const key of keys.split('\n').filter(Boolean))
        expect(await cli(port, 'CLUSTER', 'KEYSLOT', key), key).to.equal(slot)
    }
    expect(holders, 'only the primary and its replica hold them').to.have.length.within(1, 2)
  })

  it('should open a cluster from FAULTLINE_STORE=redis+cluster://…, and count every process’s reports there', async function () {
    this.timeout(30_000)
    const make = () =>
      createFaultline({
        appName: 'urlapp',
        stderr: false,
        spoolDir: false,
        env: { FAULTLINE_STORE: cluster.url, NODE_ENV: 'production' },
      })
    const [a, b] = [make(), make()]
    try {
      a.capture(new Error('fleet counted'))
      b.capture(new Error('fleet counted'))
      let total = 0
      for (const deadline = Date.now() + 10_000; total !== 2 && Date.now() < deadline;) {
        total = (await a.issues()).issues[0]?.count ?? 0
        await sleep(50)
      }
      expect(total).to.equal(2)
      expect((await b.issues()).issues[0]?.count).to.equal(2)
      expect(a.storeStatus()).to.include({ backend: 'redis', shared: true })
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it('should survive the failover of the primary that owns the app: no report lost, sharing resumes, one notice each way', async function () {
    this.timeout(120_000)
    const lines: string[] = []
    const local = new LocalStore()
    const app = 'storm'
    const setting = {
      kind: 'cluster' as const,
      cluster: { rootNodes: [{ url: `redis://127.0.0.1:${cluster.ports[0]}` }] },
      target: cluster.url,
      // the default deadline: a shorter one is missed by a loaded event loop, and a second outage said
      timeoutMs: 1000,
    }
    const store = openStore(setting, app, (notice) => lines.push(notice.text), local)
    const result = await stormThroughFailover({
      store,
      local,
      shared: await openOnCluster(Date.now, STORE_LIMITS, app),
      lines,
      fail: async () => {
        await cluster.killPrimaryOf(`{${app}}`)
        await cluster.waitForPrimaryOf(`{${app}}`)
      },
    })
    expectFailoverSurvived('cluster', result, lines, store)
  })
})

describe('store option: cluster and sentinel', function () {
  it('should name the field of a bad cluster or sentinel setting at start-up', function () {
    const bad: Array<[unknown, string]> = [
      ['redis+cluster://', 'store'],
      ['redis+cluster://a:1,,b:2', 'store'],
      ['redis+cluster://a:70000', 'store'],
      ['redis+cluster://a:7000/3', 'store'],
      ['redis+sentinel://a:26379', 'store'],
      ['redis+sentinel://a:26379/bad name', 'store'],
      ['redis+sentinel://u:%zz@a:26379/m', 'store'],
      [{ cluster: {} }, 'store.cluster.rootNodes'],
      [{ cluster: { rootNodes: [42] } }, 'store.cluster.rootNodes[0]'],
      [{ cluster: { rootNodes: [{ url: 'redis://a:1' }] }, prefix: 'fl:' }, 'store.prefix'],
      [{ cluster: { rootNodes: [{ url: 'redis://a:1' }] }, prefix: 'fl:{}:' }, 'store.prefix'],
      [{ sentinel: { sentinelRootNodes: [{ host: 'a', port: 1 }] } }, 'store.sentinel.name'],
      [
        { sentinel: { name: 'm', sentinelRootNodes: [{ host: 'a' }] } },
        'store.sentinel.sentinelRootNodes[0]',
      ],
      [{ url: 'redis://a', cluster: { rootNodes: [{ url: 'redis://a:1' }] } }, 'store'],
    ]
    expectStoreRefused(bad)
  })

  it('should refuse the app’s cluster client with a prefix that has no hash tag', function () {
    expect(() =>
      createFaultline({ store: { redis: client, prefix: 'fl:' }, env: false, stderr: false }),
    ).to.throw(FaultlineConfigError, 'hash tag')
  })
})
