import { expect } from 'chai'
import { FifoMap } from '../transports/delivery/fifo-map.js'

describe('FifoMap (the bounded queue of recent deliveries)', () => {
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

  it('should agree with a plain array queue through many rounds of adding, deleting and dropping', () => {
    const map = new FifoMap<number, number>()
    let model: number[] = []
    for (let i = 0; i < 50_000; i++) {
      map.add(i, i * 2)
      model.push(i)
      if (i % 7 === 0) {
        map.delete(i - 500)
        model = model.filter((key) => key !== i - 500)
      }
      if (map.size > 1000) {
        map.dropOldest()
        model.shift()
      }
    }
    expect(map.size).to.equal(model.length)
    expect(map.oldest()).to.deep.equal({ key: model[0], value: model[0]! * 2 })
    for (const key of model.slice(0, 20)) expect(map.get(key)).to.equal(key * 2)
  })
})
