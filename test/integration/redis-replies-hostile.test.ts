import { expect } from 'chai'
import { createClient } from 'redis'
import { createFaultline, type Faultline } from '../../lib/index.js'
import { startRedis, type RedisServer } from '../support/redis.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe('Redis answers faultline did not write (another writer damaged the keys, real Redis)', function () {
  this.timeout(60_000)
  let server: RedisServer
  let faultline: Faultline | undefined
  let client: ReturnType<typeof createClient>
  before(async function () {
    this.timeout(240_000)
    server = await startRedis()
    client = createClient({ url: server.url })
    client.on('error', () => {})
    await client.connect()
  })
  after(async () => {
    await faultline?.close()
    client?.destroy()
    await server?.stop()
  })

  it('should read an issue whose times, count and title are not what faultline stores, without throwing or passing on a megabyte', async () => {
    const prefix = 'hostile:{app}:'
    faultline = createFaultline({
      appName: 'app',
      stderr: false,
      spoolDir: false,
      env: false,
      // room for a megabyte each way on a busy machine: a timed-out call would be answered locally
      store: { redis: client, prefix, timeoutMs: 10_000 },
    })
    faultline.capture(new Error('an issue another writer damages'))
    const deadline = Date.now() + 5000
    while ((await faultline.issues()).total === 0 && Date.now() < deadline) await sleep(20)
    // the issue's own hash, not its occurrence list or hourly counts (`fp:<fp>:o`, `fp:<fp>:h:<day>`)
    const key = ((await client.sendCommand(['KEYS', `${prefix}fp:*`])) as string[]).find(
      (k) => !k.slice(`${prefix}fp:`.length).includes(':'),
    )
    const fingerprint = key!.slice(`${prefix}fp:`.length)
    await client.sendCommand([
      'HSET',
      key!,
      'first',
      'yesterday',
      'count',
      'many',
      'resolvedAt',
      '1e300',
      'title',
      'x'.repeat(1024 * 1024),
      'report',
      `{"message":"${'y'.repeat(1024 * 1024)}"}`,
    ])
    const issue = await faultline.issue(fingerprint)
    expect(issue).to.include({ firstSeen: new Date(0).toISOString(), count: 0 })
    expect(issue!.title.length).to.be.at.most(200)
    expect(issue!.report, 'a report faultline cannot have written').to.equal(undefined)
    const { issues } = await faultline.issues()
    expect(issues[0]!.title.length).to.be.at.most(200)
  })
})
