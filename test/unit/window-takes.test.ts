import { expect } from 'chai'
import { WindowTakes } from '../../lib/store/window-takes.js'
import { sleep, until } from './fakes.js'

const HOUR = 3600_000
const START = 1_700_000_000_000

/** Window takes on a clock the test sets, recording each window taken as `fingerprint@start`. */
function takesAt(windowMs: number, clock = { now: START }) {
  const taken: string[] = []
  const takes = new WindowTakes(
    windowMs,
    (fp, start) => taken.push(`${fp}@${start}`),
    () => clock.now,
  )
  return { takes, taken, clock }
}

describe('WindowTakes', () => {
  it('should take a window once at its end, however often it is armed', async () => {
    const { takes, taken } = takesAt(30)
    for (let n = 0; n < 5; n++) takes.arm('fp', START)
    await sleep(0)
    expect(taken, 'before the end').to.deep.equal([])
    await until(() => taken.length > 0, 'the window taken')
    await sleep(40)
    expect(taken).to.deep.equal([`fp@${START}`])
  })

  it('should take at once, by its clock, a window whose end has passed', async () => {
    const { takes, taken } = takesAt(HOUR, { now: START + HOUR + 1 })
    takes.arm('fp', START)
    await until(() => taken.length > 0, 'the late window taken')
    expect(taken).to.deep.equal([`fp@${START}`])
  })

  it('should keep windows of different errors and different starts apart', () => {
    const { takes, taken } = takesAt(HOUR)
    takes.arm('a', START)
    takes.arm('b', START)
    takes.arm('a', START + HOUR)
    takes.takeAll()
    expect(taken).to.have.members([`a@${START}`, `b@${START}`, `a@${START + HOUR}`])
  })

  it('should take every waiting window for a flush, and none of them again at its end', async () => {
    const { takes, taken } = takesAt(20)
    takes.arm('a', START)
    takes.arm('b', START)
    takes.takeAll()
    expect(taken).to.have.length(2)
    await sleep(40)
    expect(taken).to.have.length(2)
  })

  it('should take at once a window armed while closing: nobody would take it later', () => {
    const { takes, taken } = takesAt(HOUR)
    takes.takeAll(true)
    takes.arm('late', START)
    expect(taken).to.deep.equal([`late@${START}`])
  })

  it('should take the oldest window early rather than hold more than 2000 in a storm of distinct errors', () => {
    const { takes, taken } = takesAt(HOUR)
    for (let n = 0; n < 2000; n++) takes.arm(`fp${n}`, START)
    expect(taken).to.deep.equal([])
    takes.arm('one-too-many', START)
    expect(taken).to.deep.equal([`fp0@${START}`])
    takes.takeAll(true)
    expect(taken).to.have.length(2001)
  })
})
