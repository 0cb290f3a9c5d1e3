import { expect } from 'chai'
import { Backoff } from '../../transports/delivery/backoff.js'

/** The delays of `count` retries in a row. */
function delays(backoff: Backoff, count: number): number[] {
  return Array.from({ length: count }, () => backoff.next())
}

describe('Backoff', () => {
  it('should start near the minimum and double each time, within 20 % either way', () => {
    for (let round = 0; round < 50; round++) {
      const waits = delays(new Backoff(100, 1_000_000), 6)
      waits.forEach((wait, n) => expect(wait).to.be.within(0.8 * 100 * 2 ** n, 1.2 * 100 * 2 ** n))
    }
  })

  it('should never wait more than the maximum plus its jitter, however long the outage', () => {
    const waits = delays(new Backoff(250, 30_000), 200)
    for (const wait of waits.slice(10)) expect(wait).to.be.within(0.8 * 30_000, 1.2 * 30_000)
  })

  it('should start from the minimum again after a success', () => {
    const backoff = new Backoff(100, 10_000)
    delays(backoff, 8)
    backoff.reset()
    expect(backoff.next()).to.be.within(80, 120)
  })

  it('should spread clients of one receiver rather than bring them back in step', () => {
    const firstWaits = new Set(Array.from({ length: 20 }, () => new Backoff(1000, 60_000).next()))
    expect(firstWaits.size).to.be.greaterThan(1)
  })
})
