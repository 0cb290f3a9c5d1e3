import { expect } from 'chai'
import { createFaultline, type Faultline } from '../lib/index.js'
import { startHostileRedis, type HostileRedis } from './support/hostile-redis.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const used = () => {
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

describe('a Redis that answers with a bulk string of 900 MB (fake Redis on loopback)', function () {
  this.timeout(60_000)
  let redis: HostileRedis
  let faultline: Faultline | undefined
  afterEach(async () => {
    await faultline?.close()
    faultline = undefined
    await redis.close()
  })

  it('should drop and reopen its own client, hold far less than the reply in memory and answer from local state', async () => {
    const announced = 900_000_000
    redis = await startHostileRedis(announced)
    const before = used()
    let peak = before
    const watch = setInterval(() => (peak = Math.max(peak, used())), 10)
    try {
      faultline = createFaultline({
        appName: 'app',
        stderr: false,
        spoolDir: false,
        env: false,
        store: { url: redis.url, timeoutMs: 100 },
      })
      for (let i = 0; i < 10; i++) {
        faultline.capture(new Error(`an error while Redis misbehaves ${i}`))
        await sleep(200)
      }
      const { total } = await faultline.issues()
      expect(total).to.be.at.least(1)
      expect(faultline.storeStatus().fallbacks).to.be.above(0)
      expect(redis.connections, 'the client was made again').to.be.above(1)
      // without the reopen the client holds the whole reply and its copies (1.8 GB measured); with it, what
      // one 100 ms deadline lets in (about 480 MB at most in a 10 s run on loopback)
      expect(peak - before).to.be.below(announced * 0.75)
    } finally {
      clearInterval(watch)
    }
  })
})
