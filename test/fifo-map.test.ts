import { expect } from 'chai'
import { FifoMap } from '../lib/store/fifo-map.js'

describe('FifoMap (the bounded queues of the local store and delivery)', () => {
  it('should hand out the oldest entry first, skipping deleted ones', () => {
    const map = new FifoMap<string, number>()
    for (let i = 0; i < 5; i++) map.add(`k${i}`, i)
    map.delete('k0')
    map.delete('k2')
    expect(map.oldest()).to.deep.equal({ key: 'k1', value: 1 })
    map.dropOldest()
    expect(map.oldest()).to.deep.equal({ key: 'k3', value: 3 })
    expect(map.size).to.equal(2)
  })

  it('should place a key deleted and added again at the end, once', () => {
    const map = new FifoMap<string, number>()
    map.add('a', 1)
    map.add('b', 2)
    map.delete('a')
    expect(map.add('a', 3)).to.equal(true)
    expect(map.add('a', 4)).to.equal(false)
    expect(map.oldest()).to.deep.equal({ key: 'b', value: 2 })
    map.dropOldest()
    expect(map.oldest()).to.deep.equal({ key: 'a', value: 3 })
    map.dropOldest()
    expect(map.oldest()).to.equal(undefined)
    expect(map.size).to.equal(0)
  })

  it('should stay a correct queue through many rounds of adding and dropping', () => {
    const map = new FifoMap<number, number>()
    for (let i = 0; i < 50_000; i++) {
      map.add(i, i)
      if (map.size > 1000) map.dropOldest()
      if (i % 7 === 0) map.delete(i - 500)
    }
    expect(map.size).to.be.at.most(1000)
    const oldest = map.oldest()!
    expect(oldest.key).to.be.within(49_000, 49_010)
    expect(map.get(49_999)).to.equal(49_999)
    expect(map.has(48_000)).to.equal(false)
  })
})
