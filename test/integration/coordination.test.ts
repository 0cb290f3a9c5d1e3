import { createClient } from 'redis'
import { LocalCoordination } from '../../lib/store/local-coordination.js'
import { RedisStore } from '../../lib/store/redis-store.js'
import { describeCoordination } from '../support/coordination-suite.js'
import { startRedis, type RedisServer } from '../support/redis.js'

describeCoordination('in-process', (now) => {
  // one process: every member is the same state
  const coordination = new LocalCoordination(now)
  return Promise.resolve(() => Promise.resolve(coordination))
})

describe('on Redis', function () {
  let server: RedisServer
  const clients: Array<{ destroy(): void }> = []
  let prefixes = 0
  before(async function () {
    this.timeout(240_000)
    server = await startRedis()
  })
  after(async () => {
    for (const client of clients.splice(0)) client.destroy()
    await server?.stop()
  })

  // each member of a fleet has a client of its own on the fleet's prefix
  describeCoordination('redis', (now) => {
    const prefix = `c${++prefixes}:{app}:`
    return Promise.resolve(async () => {
      const client = createClient({ url: server.url })
      client.on('error', () => {})
      await client.connect()
      clients.push(client)
      const limits = { retentionMs: 86_400_000, maxFingerprints: 100, maxIncidents: 100 }
      return new RedisStore(client, { prefix, limits, now })
    })
  })
})
