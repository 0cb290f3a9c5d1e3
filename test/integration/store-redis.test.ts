import { expect } from 'chai'
import { createClient } from 'redis'
import { createFaultline } from '../../lib/index.js'
import { openStore, STORE_LIMITS } from '../../lib/store/open-store.js'
import {
  RedisStore,
  type RedisCommander,
  type RedisStoreLimits,
} from '../../lib/store/redis-store.js'
import type { Store } from '../../lib/store/types.js'
import { startRedis, type RedisServer } from '../support/redis.js'
import { expectStoreRefused } from '../support/topology-stores.js'
import { getDeadPort } from '../support/ports.js'
import { spawnScript } from '../support/processes.js'
import { getTestCertificate } from '../support/smtp.js'
import {
  describeIncidentStore,
  describeIncidentStoreBounds,
  makeReport,
} from '../support/incident-store-suite.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: RedisServer
const clients: Array<{ destroy(): void }> = []
let prefixes = 0

async function newClient(): Promise<RedisCommander> {
  const client = createClient({ url: server.url })
  client.on('error', () => {})
  await client.connect()
  clients.push(client)
  return client
}

/** A RedisStore on a prefix of its own: every test starts from an empty app. */
async function openRedis(
  now: () => number = Date.now,
  limits: RedisStoreLimits = STORE_LIMITS,
  prefix = `t${++prefixes}:{app}:`,
): Promise<RedisStore> {
  return new RedisStore(await newClient(), { prefix, limits, now })
}

before(async function () {
  this.timeout(240_000)
  server = await startRedis()
})

after(async function () {
  for (const client of clients.splice(0)) client.destroy()
  await server?.stop()
})

describeIncidentStore('redis', (now) => openRedis(now))
describeIncidentStoreBounds('redis', (now) =>
  openRedis(now, { retentionMs: 14 * 86_400_000, maxFingerprints: 3, maxIncidents: 5 }),
)

describe('Redis store: a scan against its default bounds', function () {
  it('should keep a traceback, an error and their incidents after 10 000 warnings of new fingerprints', async function () {
    this.timeout(120_000)
    const store = await openRedis(Date.now, STORE_LIMITS)
    const traceback = makeReport('fp-trace')
    const error = makeReport('fp-error', { kind: 'error' })
    await store.record(traceback)
    await store.record(error)
    // a scanner's 404s as the store got them before their paths were grouped: one fingerprint each
    for (let start = 0; start < 10_000; start += 500)
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          store.record(
            makeReport(`fp-scan-${start + i}`, {
              kind: 'warning',
              status: 404,
              message: 'Not Found',
              url: `/made-up-${start + i}?q=1`,
              route: '',
            }),
          ),
        ),
      )
    expect((await store.issue('fp-trace'))?.kind).to.equal('traceback')
    expect((await store.issue('fp-error'))?.kind).to.equal('error')
    expect((await store.incident(traceback.id))?.fingerprint).to.equal('fp-trace')
    expect((await store.incident(error.id))?.fingerprint).to.equal('fp-error')
    expect((await store.issues({ kind: 'warning' })).total).to.equal(
      STORE_LIMITS.maxFingerprints.warning,
    )
    expect((await store.issues()).total).to.equal(STORE_LIMITS.maxFingerprints.warning + 2)
  })
})

describe('Redis store: fleet coordination', function () {
  it('should open one window per fingerprint for the whole fleet, and give its count to exactly one taker', async function () {
    const prefix = `t${++prefixes}:{app}:`
    const hosts = await Promise.all([1, 2, 3, 4].map(() => openRedis(Date.now, undefined, prefix)))
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        hosts[i % 4]!.gather(
          'mail',
          'fp-a',
          '{"id":"first"}',
          { id: `ID${i}`, time: 'now' },
          60_000,
        ),
      ),
    )
    expect(results.filter((r) => r.opened)).to.have.length(1)
    const start = results[0]!.start
    expect(results.every((r) => r.start === start)).to.equal(true)
    const taken = await Promise.all(hosts.map((h) => h.take('mail', 'fp-a', start, 60_000)))
    const winners = taken.filter((t) => t !== undefined)
    expect(winners).to.have.length(1)
    expect(winners[0]!.count).to.equal(399)
    expect(winners[0]!.first).to.equal('{"id":"first"}')
    expect(winners[0]!.occurrences).to.have.length(50)
  })

  it('should keep a storm that goes on in one thread: the next window counts into the next digest', async function () {
    const store = await openRedis()
    const opened = await store.gather('tickets', 'fp-b', '{}', { id: 'A', time: 't' }, 60_000)
    await store.gather('tickets', 'fp-b', '{}', { id: 'B', time: 't' }, 60_000)
    const first = await store.take('tickets', 'fp-b', opened.start, 60_000)
    expect(first?.count).to.equal(1)
    const next = await store.gather('tickets', 'fp-b', '{}', { id: 'C', time: 't' }, 60_000)
    expect(next.opened).to.equal(false)
    expect(next.start).to.equal(first!.until)
  })

  it('should count a fixed window across clients, and give a claim to one holder at a time', async function () {
    const prefix = `t${++prefixes}:{app}:`
    const [a, b] = await Promise.all([
      openRedis(Date.now, undefined, prefix),
      openRedis(Date.now, undefined, prefix),
    ])
    const counts = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).countInWindow('warn:404:1.2.3.4', 60_000),
      ),
    )
    expect([...counts].sort((x, y) => x - y)).to.deep.equal(
      Array.from({ length: 30 }, (_, i) => i + 1),
    )
    const token = await a!.claim('ticket:fp', 60_000)
    expect(token).to.be.a('string')
    expect(await b!.claim('ticket:fp', 60_000)).to.equal(undefined)
    await b!.release('ticket:fp', 'not-the-token')
    expect(await b!.claim('ticket:fp', 60_000)).to.equal(undefined)
    await a!.release('ticket:fp', token!)
    expect(await b!.claim('ticket:fp', 60_000)).to.be.a('string')
  })

  it('should give every key it writes an expiry', async function () {
    const prefix = `t${++prefixes}:{app}:`
    const store = await openRedis(Date.now, undefined, prefix)
    await store.record(makeReport('fp-ttl'))
    const opened = await store.gather(
      'mail',
      'fp-ttl',
      '{}',
      { id: 'A', time: 't', url: '/a' },
      60_000,
    )
    await store.gather('mail', 'fp-ttl', '{}', { id: 'B', time: 't', url: '/b' }, 60_000)
    expect(opened.opened).to.equal(true)
    await store.countInWindow('k', 60_000)
    await store.claim('c', 60_000)
    const probe = await newClient()
    const keys = (await probe.sendCommand(['KEYS', `${prefix}*`])) as string[]
    expect(keys.length).to.be.greaterThan(8)
    for (const key of keys) {
      const ttl = Number(await probe.sendCommand(['PTTL', key]))
      expect(ttl, key).to.be.greaterThan(0)
    }
  })
})

describe('Redis store: failover', function () {
  const lines: string[] = []
  let store: Store | undefined

  afterEach(async function () {
    await store?.close()
    store = undefined
    lines.length = 0
  })

  function open(url = server.url, timeoutMs = 150): Store {
    return openStore(
      { kind: 'url', url, target: url, timeoutMs, prefix: `t${++prefixes}:{app}:` },
      'shop',
      (notice) => lines.push(`${notice.text}\n`),
    )
  }

  it('should say it is shared only once connected, not while a server that refuses is still being tried', async function () {
    store = open(`redis://127.0.0.1:${await getDeadPort()}`)
    expect(store.status()).to.include({ backend: 'redis', shared: false })
    await sleep(300)
    expect(store.status().shared).to.equal(false)
    await store.close()
    store = open()
    const deadline = Date.now() + 5_000
    while (!store.status().shared && Date.now() < deadline) await sleep(20)
    expect(store.status()).to.include({ shared: true, outages: 0 })
  })

  it('should answer locally at once when Redis is killed, say so once, and share again when it is back', async function () {
    this.timeout(30_000)
    store = open()
    expect(
      (await store.gather('mail', 'fp', '{}', { id: 'A', time: 't' }, 60_000)).opened,
    ).to.equal(true)
    expect(store.status()).to.include({ backend: 'redis', shared: true })
    await server.kill()
    const during = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store!.countInWindow(`k`, 60_000).then(() => i)),
    )
    expect(during).to.have.length(20)
    expect(store.status().shared).to.equal(false)
    // the fallback counts too: a fingerprint first seen during the outage is alerted on
    expect(
      (await store.gather('mail', 'fp-new', '{}', { id: 'B', time: 't' }, 60_000)).opened,
    ).to.equal(true)
    expect(lines.filter((l) => l.includes('unavailable'))).to.have.length(1)
    expect(lines[0]).to.include(server.url).and.include('none is lost')
    await server.restart()
    const deadline = Date.now() + 15_000
    while (!store.status().shared && Date.now() < deadline) await sleep(100)
    expect(store.status()).to.include({ shared: true, outages: 1 })
    expect(lines.filter((l) => l.includes('answers again'))).to.have.length(1)
    // shared again: a second process sees the window this one opens
    const other = await openRedis(Date.now, undefined, undefined)
    expect(other).to.be.an('object')
    expect(
      (await store.gather('mail', 'fp-after', '{}', { id: 'C', time: 't' }, 60_000)).opened,
    ).to.equal(true)
  })

  it('should count, not alert again, a window it saw open when Redis is gone or comes back without it', async function () {
    this.timeout(30_000)
    store = open()
    const occurrence = (id: string) => ({ id, time: 't', url: `/${id}` })
    expect((await store.gather('mail', 'fp', '{}', occurrence('A1'), 60_000)).opened).to.equal(true)
    await server.kill()
    // the fleet mailed this window's first already: in the outage it counts into a digest of this process
    const during = await store.gather('mail', 'fp', '{}', occurrence('A2'), 60_000)
    expect(during.opened).to.equal(false)
    expect(store.status().shared).to.equal(false)
    // a window never seen here is a first all the same: an alert may double in an outage, never go missing
    expect((await store.gather('mail', 'new', '{}', occurrence('N'), 60_000)).opened).to.equal(true)
    const taken = await store.take('mail', 'fp', during.start, 60_000)
    expect(taken).to.include({ count: 1 })
    expect(taken!.occurrences.map((o) => o.id)).to.deep.equal(['A2'])
    // back without its data, as a replica promoted before it copied the window: not a first either
    await server.restart()
    const deadline = Date.now() + 15_000
    while (!store.status().shared && Date.now() < deadline) await sleep(100)
    expect(store.status().shared, lines.join('')).to.equal(true)
    const after = await store.gather('mail', 'fp', '{}', occurrence('A3'), 60_000)
    expect(after.opened).to.equal(false)
    const again = await store.take('mail', 'fp', after.start, 60_000)
    expect(again!.occurrences.map((o) => o.id)).to.deep.equal(['A3'])
    // a window past its length since it was last seen opens again, with its alert
    const later = open()
    expect((await later.gather('mail', 'fp', '{}', occurrence('A4'), 1)).opened).to.equal(true)
    await sleep(5)
    expect((await later.gather('mail', 'fp', '{}', occurrence('A5'), 1)).opened).to.equal(true)
    await later.close()
  })

  it('should tell every host of a mute within its poll, and count a storm in batches', async function () {
    this.timeout(20_000)
    const prefix = `t${++prefixes}:{app}:`
    const hosts = [1, 2].map(() =>
      openStore(
        {
          kind: 'url',
          url: server.url,
          target: server.url,
          timeoutMs: 1000,
          prefix,
          mutePollMs: 50,
        },
        'shop',
        (notice) => lines.push(`${notice.text}\n`),
      ),
    )
    try {
      const [a, b] = hosts as [Store, Store]
      await Promise.all(
        Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).record(makeReport('fp-m'))),
      )
      expect((await b.issue('fp-m'))?.count).to.equal(500)
      await a.mute('fp-m', Date.now() + 60_000)
      expect(a.isMuted('fp-m')).to.equal(true)
      const deadline = Date.now() + 5000
      while (!b.isMuted('fp-m') && Date.now() < deadline) await sleep(20)
      expect(b.isMuted('fp-m')).to.equal(true)
      await a.mute('fp-m', 0)
      while (b.isMuted('fp-m') && Date.now() < deadline + 5000) await sleep(20)
      expect(b.isMuted('fp-m')).to.equal(false)
      expect(lines).to.deep.equal([])
    } finally {
      await Promise.all(hosts.map((h) => h.close()))
    }
  })

  it('should answer within its timeout while Redis is frozen, and fall back', async function () {
    this.timeout(30_000)
    store = open(server.url, 100)
    await store.countInWindow('warm', 60_000)
    server.freeze()
    try {
      const started = Date.now()
      const count = await store.countInWindow('k', 60_000)
      const waited = Date.now() - started
      expect(count).to.equal(1)
      // the deadline is the store's own, far below node-redis's 5 s command timeout
      expect(waited).to.be.lessThan(2000)
      expect(store.status().shared).to.equal(false)
      expect(lines.join('')).to.include('no answer within 100 ms')
    } finally {
      server.thaw()
    }
  })

  it('should make one new client for a storm of calls that missed their deadline together, and share again once Redis answers', async function () {
    this.timeout(30_000)
    store = open(server.url, 100)
    await store.countInWindow('warm', 60_000)
    server.freeze()
    try {
      await Promise.all(Array.from({ length: 200 }, () => store!.countInWindow('k', 60_000)))
      // each of them reopening would destroy the client the one before had just made
      expect((store as unknown as { reopens: number }).reopens).to.equal(1)
    } finally {
      server.thaw()
    }
    const deadline = Date.now() + 15_000
    while (!store.status().shared && Date.now() < deadline) await sleep(50)
    expect(store.status().shared, lines.join('')).to.equal(true)
    expect(lines.join('')).to.include('answers again')
  })

  it('should start on local state when Redis is not there at all, and say so once', async function () {
    this.timeout(10_000)
    store = open('redis://127.0.0.1:1', 100)
    const results = await Promise.all([1, 2, 3].map(() => store!.countInWindow('k', 60_000)))
    expect(results.sort()).to.deep.equal([1, 2, 3])
    expect(store.status().shared).to.equal(false)
    expect(lines).to.have.length(1)
  })
})

describe('store option', function () {
  it('should name the field of a bad store setting at start-up', function () {
    const bad: Array<[unknown, string]> = [
      ['http://cache:6379', 'store'],
      ['redis://', 'store'],
      ['redis://cache:6379/db', 'store'],
      [{ url: 42 }, 'store.url'],
      [{ url: 'redis://cache', timeoutMs: 0 }, 'store.timeoutMs'],
      [{ redis: {} }, 'store.redis'],
      [{ url: 'redis://cache', ttl: 1 }, 'store.ttl'],
      [12, 'store'],
    ]
    expectStoreRefused(bad)
  })

  it('should take FAULTLINE_STORE from the environment, and count reports in Redis for every process', async function () {
    this.timeout(20_000)
    const prefix = `t${++prefixes}:{shop}:`
    const make = () =>
      createFaultline({
        appName: 'shop',
        stderr: false,
        spoolDir: false,
        // no URL in the code: the environment's fills it in, and the code's prefix stays
        store: { prefix },
        env: { FAULTLINE_STORE: server.url, NODE_ENV: 'production' },
      })
    const [a, b] = [make(), make()]
    try {
      expect(a.storeStatus().backend).to.equal('redis')
      a.capture(new Error('fleet counted'))
      b.capture(new Error('fleet counted'))
      const deadline = Date.now() + 5000
      let total = 0
      while (Date.now() < deadline) {
        const { issues } = await a.issues()
        total = issues[0]?.count ?? 0
        if (total === 2) break
        await sleep(50)
      }
      // the environment won over the option: the counts are in the running server
      expect(total).to.equal(2)
      const fromB = await b.issues()
      expect(fromB.issues[0]?.count).to.equal(2)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it("should use the app's own client, and leave it open at close", async function () {
    const client = createClient({ url: server.url })
    client.on('error', () => {})
    await client.connect()
    clients.push(client)
    const prefix = `t${++prefixes}:{own}:`
    const faultline = createFaultline({
      appName: 'own',
      stderr: false,
      spoolDir: false,
      env: false,
      store: { redis: client, prefix },
    })
    faultline.capture(new Error('counted through the app client'))
    const deadline = Date.now() + 5000
    while ((await faultline.issues()).total === 0 && Date.now() < deadline) await sleep(20)
    await faultline.close()
    expect(client.isOpen).to.equal(true)
    const keys = (await client.sendCommand(['KEYS', `${prefix}fp:*`])) as string[]
    expect(keys.length).to.be.greaterThan(0)
  })

  it('should speak TLS to a rediss:// URL, and refuse a certificate it cannot verify', async function () {
    this.timeout(60_000)
    const secure = await startRedis({ tls: true })
    try {
      const run = async (env: NodeJS.ProcessEnv) => {
        const child = spawnScript('store-tls.ts', [], {
          env: { ...process.env, STORE_URL: secure.url, ...env },
        })
        await child.exited
        return { out: JSON.parse(child.lines.at(-1) ?? '{}'), stderr: child.stderr() }
      }
      const untrusted = await run({})
      expect(untrusted.out.status).to.include({ backend: 'redis', shared: false })
      expect(untrusted.stderr).to.include(`the shared store at ${secure.url} is unavailable`)
      const trusted = await run({ NODE_EXTRA_CA_CERTS: getTestCertificate().certFile })
      expect(trusted.out).to.deep.include({ total: 1 })
      expect(trusted.out.status).to.include({ backend: 'redis', shared: true, outages: 0 })
    } finally {
      await secure.stop()
    }
  })
})
