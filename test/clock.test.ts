import { expect } from 'chai'
import { isoTime } from '../lib/report/clock.js'

describe('report times', () => {
  it('should write every time exactly as Date#toISOString does, across seconds, years and signs', () => {
    const now = Date.now()
    const times = [
      0,
      1,
      999,
      1000,
      1999.9,
      -0.5,
      -1000.5,
      now,
      now + 1,
      now + 1000,
      -1,
      -1001,
      253402300800000,
    ]
    for (let ms = now - 2500; ms < now + 2500; ms += 7) times.push(ms)
    for (const ms of [...times, 8.64e15, -8.64e15])
      expect(isoTime(ms), String(ms)).to.equal(new Date(ms).toISOString())
  })

  it('should give the current time by default', () => {
    const before = Date.now()
    const time = Date.parse(isoTime())
    expect(time).to.be.within(before, Date.now())
  })
})
