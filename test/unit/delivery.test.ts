import { expect } from 'chai'
import { Delivery, type DeliveryEvents } from '../../transports/delivery/delivery.js'
import { Spool } from '../../transports/delivery/spool.js'
import { orphanSegments, tempDir, until } from './fakes.js'

/** A receiver the test steers: it records what arrives, and is down while `down` holds. */
function fakeReceiver() {
  const receiver = {
    got: [] as string[],
    attempts: 0,
    down: false as boolean | Error,
    inFlight: 0,
    maxInFlight: 0,
    send: async (value: string) => {
      receiver.attempts++
      receiver.inFlight++
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight)
      await new Promise((resolve) => setImmediate(resolve))
      receiver.inFlight--
      if (receiver.down)
        throw receiver.down instanceof Error ? receiver.down : new Error('ECONNREFUSED')
      receiver.got.push(value)
    },
  }
  return receiver
}

/** Every event the line tells, in order. */
function recordEvents() {
  const said: string[] = []
  const events: DeliveryEvents<string> = {
    down: (err) => said.push(`down ${err.message}`),
    up: () => said.push('up'),
    dropped: (count) => said.push(`dropped ${count}`),
    gaveUp: (key) => said.push(`gaveUp ${key}`),
    refused: (key) => said.push(`refused ${key}`),
  }
  return { said, events }
}

const fast = { minBackoffMs: 1, maxBackoffMs: 5 }

describe('Delivery', () => {
  const lines: Array<Delivery<string>> = []
  const line = (
    options: Omit<ConstructorParameters<typeof Delivery<string>>[0], 'events'> & {
      events?: DeliveryEvents<string>
    },
  ) => {
    const delivery = new Delivery<string>({ events: recordEvents().events, ...options })
    lines.push(delivery)
    return delivery
  }
  const closeLines = async () => {
    for (const delivery of lines.splice(0)) await delivery.close(100)
  }
  afterEach(closeLines)

  it('should deliver every unit once, in the order it was accepted', async () => {
    const receiver = fakeReceiver()
    const delivery = line({ send: receiver.send, maxQueue: 100 })
    for (let n = 0; n < 20; n++) delivery.push(`k${n}`, `v${n}`)
    await delivery.drain(2000)
    expect(receiver.got).to.deep.equal(Array.from({ length: 20 }, (_, n) => `v${n}`))
    expect(delivery.stats()).to.include({ delivered: 20, dropped: 0, queued: 0 })
  })

  it('should send one unit at a time by default, and up to the window when given one', async () => {
    for (const [window, most] of [
      [undefined, 1],
      [4, 4],
    ] as const) {
      const receiver = fakeReceiver()
      const delivery = line({ send: receiver.send, maxQueue: 100, ...(window ? { window } : {}) })
      for (let n = 0; n < 12; n++) delivery.push(`k${n}`, `v${n}`)
      await delivery.drain(2000)
      expect(receiver.maxInFlight, `window ${window}`).to.equal(most)
      expect(receiver.got).to.have.length(12)
    }
  })

  it('should not send a key it has already delivered or holds', async () => {
    const receiver = fakeReceiver()
    const { said, events } = recordEvents()
    const delivery = line({ send: receiver.send, maxQueue: 100, events })
    expect(delivery.push('id-1', 'first')).to.equal(true)
    expect(delivery.push('id-1', 'again while queued')).to.equal(false)
    await delivery.drain(2000)
    expect(delivery.push('id-1', 'again once delivered')).to.equal(false)
    await delivery.drain(2000)
    expect(receiver.got).to.deep.equal(['first'])
    expect(said).to.deep.equal(['refused id-1', 'refused id-1'])
  })

  it('should keep units through an outage, retry them in order, and say down and up once each', async () => {
    const receiver = fakeReceiver()
    receiver.down = true
    const { said, events } = recordEvents()
    const delivery = line({ send: receiver.send, maxQueue: 100, events, ...fast })
    for (let n = 0; n < 5; n++) delivery.push(`k${n}`, `v${n}`)
    await until(() => receiver.attempts >= 5, 'several failed attempts')
    receiver.down = false
    await delivery.drain(2000)
    expect(receiver.got).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4'])
    expect(said).to.deep.equal(['down ECONNREFUSED', 'up'])
    expect(delivery.stats().retried).to.be.at.least(4)
  })

  it('should drop units past its queue bound, count them, and say so once delivery works', async () => {
    const receiver = fakeReceiver()
    receiver.down = true
    const { said, events } = recordEvents()
    const delivery = line({ send: receiver.send, maxQueue: 3, events, ...fast })
    const accepted = Array.from({ length: 10 }, (_, n) => delivery.push(`k${n}`, `v${n}`))
    expect(accepted.filter(Boolean)).to.have.length(3)
    expect(delivery.stats()).to.include({ dropped: 7, queued: 3 })
    receiver.down = false
    await delivery.drain(2000)
    expect(receiver.got).to.deep.equal(['v0', 'v1', 'v2'])
    expect(said.filter((s) => s.startsWith('dropped'))).to.deep.equal(['dropped 7'])
  })

  it('should give up at once on a unit refused for good, and go on with the next', async () => {
    const receiver = fakeReceiver()
    const { said, events } = recordEvents()
    const refusing = async (value: string) => {
      if (value === 'bad') throw Object.assign(new Error('invalid API key'), { permanent: true })
      return receiver.send(value)
    }
    const delivery = line({ send: refusing, maxQueue: 100, events, ...fast })
    delivery.push('a', 'bad')
    delivery.push('b', 'good')
    await delivery.drain(2000)
    expect(receiver.got).to.deep.equal(['good'])
    expect(said).to.include('gaveUp a')
    expect(delivery.stats()).to.include({ dropped: 1, delivered: 1, retried: 0 })
  })

  it('should give a unit up once it kept failing past maxRetryMs, and count it', async () => {
    const receiver = fakeReceiver()
    receiver.down = true
    const { said, events } = recordEvents()
    const delivery = line({ send: receiver.send, maxQueue: 100, events, maxRetryMs: 20, ...fast })
    delivery.push('old', 'v')
    await until(() => said.includes('gaveUp old'), 'the unit given up')
    expect(delivery.stats()).to.include({ dropped: 1, queued: 0 })
    receiver.down = false
    delivery.push('new', 'w')
    await delivery.drain(2000)
    expect(said).to.include('dropped 1')
  })

  it('should resend units whose delivery is in doubt before the rest', async () => {
    const receiver = fakeReceiver()
    // a long backoff: only wake() retries, after the resend is in
    const delivery = line({ send: receiver.send, maxQueue: 100, minBackoffMs: 60_000 })
    delivery.push('a', 'va')
    await delivery.drain(2000)
    receiver.down = true
    delivery.push('b', 'vb')
    await until(() => delivery.stats().retried === 1, 'b to fail once')
    delivery.resend([{ key: 'a', value: 'va' }])
    receiver.down = false
    delivery.wake()
    await delivery.drain(3000)
    expect(receiver.got).to.deep.equal(['va', 'va', 'vb'])
    expect(delivery.stats().resent).to.equal(1)
  })

  describe('with a spool', () => {
    let dir: string
    let remove: () => void
    beforeEach(() => ({ dir, remove } = tempDir('delivery')))
    afterEach(async () => {
      await closeLines()
      remove()
    })

    it('should leave what it could not deliver by close to the next process, which delivers it first', async () => {
      const receiver = fakeReceiver()
      receiver.down = true
      const first = line({ send: receiver.send, maxQueue: 100, spool: new Spool({ dir }), ...fast })
      first.push('k1', 'v1')
      first.push('k2', 'v2')
      expect(await first.close(50)).to.equal(2)
      orphanSegments(dir)
      receiver.down = false
      const next = line({ send: receiver.send, maxQueue: 100, spool: new Spool({ dir }) })
      next.push('k3', 'v3')
      await until(() => receiver.got.length === 3, 'the replayed units')
      expect(receiver.got).to.deep.equal(['v1', 'v2', 'v3'])
    })

    it('should not replay what it delivered', async () => {
      const receiver = fakeReceiver()
      const first = line({ send: receiver.send, maxQueue: 100, spool: new Spool({ dir }) })
      first.push('k1', 'v1')
      await first.drain(2000)
      await first.close(50)
      orphanSegments(dir)
      const next = line({ send: receiver.send, maxQueue: 100, spool: new Spool({ dir }) })
      await next.drain(200)
      expect(receiver.got).to.deep.equal(['v1'])
    })

    it('should drop and count a unit the full spool refuses', async () => {
      const receiver = fakeReceiver()
      receiver.down = true
      const spool = new Spool<string>({ dir, maxBytes: 120 })
      const delivery = line({ send: receiver.send, maxQueue: 100, spool, ...fast })
      const accepted = Array.from({ length: 6 }, (_, n) =>
        delivery.push(`key-${n}`, 'v'.repeat(20)),
      )
      const kept = accepted.filter(Boolean).length
      expect(kept).to.be.within(1, 5)
      expect(delivery.stats()).to.include({ dropped: 6 - kept, queued: kept, spooled: kept })
    })
  })
})
