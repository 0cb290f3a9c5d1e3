/**
 * The rules every FleetCoordination must keep, through the interface only:
 * the in-process coordination and the Redis one run the same suite, so the
 * throttles that run on both see one set of answers.
 */
import { expect } from 'chai'
import type { FleetCoordination } from '../../lib/store/types.js'

const MINUTE = 60_000
// a fixed start: the clock the test moves is the only one the answers read
const START = Date.UTC(2026, 0, 5, 10, 0, 0)

/** A coordination under test on the clock `now`; every call of `open` shares the state of one fleet. */
export type OpenCoordination = (now: () => number) => Promise<() => Promise<FleetCoordination>>

export function describeCoordination(name: string, openFleet: OpenCoordination): void {
  describe(`fleet coordination: ${name}`, function () {
    let clock: number
    let member: () => Promise<FleetCoordination>
    const occurrence = (id: string, url?: string) => ({ id, time: 't', ...(url ? { url } : {}) })
    beforeEach(async () => {
      clock = START
      member = await openFleet(() => clock)
    })

    it('should open one window per fingerprint and count every later occurrence into it', async () => {
      const c = await member()
      const opened = await c.gather('mail', 'fp', '{"id":"first"}', occurrence('A'), MINUTE)
      clock += 1000
      const later = await c.gather('mail', 'fp', '{"id":"other"}', occurrence('B', '/b'), MINUTE)
      expect(opened).to.deep.equal({ opened: true, start: START })
      expect(later).to.deep.equal({ opened: false, start: START })
      const other = await c.gather('tickets', 'fp', '{}', occurrence('C'), MINUTE)
      expect(other.opened, 'another scope has windows of its own').to.equal(true)
    })

    it("should give a window's count to exactly one taker, with the first report and bounded lists", async () => {
      const [a, b] = [await member(), await member()]
      const { start } = await a.gather('mail', 'fp', '{"id":"first"}', occurrence('0'), MINUTE)
      for (let i = 1; i <= 80; i++)
        await (i % 2 ? a : b).gather('mail', 'fp', '{}', occurrence(`${i}`, `/u/${i % 30}`), MINUTE)
      clock += MINUTE
      const taken = await Promise.all([a, b].map((c) => c.take('mail', 'fp', start, MINUTE)))
      const winners = taken.filter((t) => t !== undefined)
      expect(winners).to.have.length(1)
      const [won] = winners
      expect(won!.first).to.equal('{"id":"first"}')
      expect(won!.count).to.equal(80)
      expect(won!.occurrences).to.have.length(50)
      expect(won!.occurrences[0]).to.deep.equal(occurrence('1', '/u/1'))
      expect(won!.urls).to.have.length(20)
      expect([won!.since, won!.until]).to.deep.equal([START, START + MINUTE])
    })

    it('should keep a storm that goes on in one thread, and end a window that gathered nothing', async () => {
      const c = await member()
      const { start } = await c.gather('mail', 'fp', '{}', occurrence('A'), MINUTE)
      await c.gather('mail', 'fp', '{}', occurrence('B'), MINUTE)
      clock += MINUTE
      const first = await c.take('mail', 'fp', start, MINUTE)
      expect(first?.count).to.equal(1)
      clock += 1000
      const next = await c.gather('mail', 'fp', '{}', occurrence('C'), MINUTE)
      expect(next).to.deep.equal({ opened: false, start: START + MINUTE })
      clock += MINUTE
      expect((await c.take('mail', 'fp', next.start, MINUTE))?.count).to.equal(1)
      expect(await c.take('mail', 'fp', START + 2 * MINUTE + 1000, MINUTE)).to.equal(undefined)
      // the window reopened by the last take gathered nothing: past its end, an occurrence opens a new one
      clock += MINUTE
      const fresh = await c.gather('mail', 'fp', '{}', occurrence('D'), MINUTE)
      expect(fresh).to.deep.equal({ opened: true, start: clock })
    })

    it('should keep counting into a window its taker is late for, while occurrences keep coming', async () => {
      const c = await member()
      const { start } = await c.gather('tickets', 'fp', '{}', occurrence('A'), MINUTE)
      // a taker whose event loop was blocked: the window's timer fires windows late
      for (let i = 1; i <= 5; i++) {
        clock += i === 1 ? MINUTE / 2 : MINUTE
        expect(await c.gather('tickets', 'fp', '{}', occurrence(`${i}`), MINUTE)).to.deep.equal({
          opened: false,
          start,
        })
      }
      expect((await c.take('tickets', 'fp', start, MINUTE))?.count).to.equal(5)
    })

    it('should give nothing for a window taken already or never opened', async () => {
      const c = await member()
      expect(await c.take('mail', 'nothing', START, MINUTE)).to.equal(undefined)
      const { start } = await c.gather('mail', 'fp', '{}', occurrence('A'), MINUTE)
      clock += MINUTE
      // it gathered nothing after its first occurrence: taking it ends it
      expect(await c.take('mail', 'fp', start, MINUTE)).to.equal(undefined)
      expect((await c.gather('mail', 'fp', '{}', occurrence('B'), MINUTE)).opened).to.equal(true)
    })

    it('should admit at most max events in any period, say when the next is admitted, and admit again then', async () => {
      const [a, b] = [await member(), await member()]
      const answers = []
      for (let i = 0; i < 5; i++) {
        answers.push(await (i % 2 ? a : b).admit('ceiling', 3, MINUTE))
        clock += 10_000
      }
      expect(answers.map((x) => x.admitted)).to.deep.equal([true, true, true, false, false])
      expect(answers[3]!.freeAt).to.equal(START + MINUTE)
      // a fixed bucket would start afresh here; a sliding period still holds the three
      clock = START + MINUTE - 1
      expect((await a.admit('ceiling', 3, MINUTE)).admitted).to.equal(false)
      clock = START + MINUTE
      expect((await b.admit('ceiling', 3, MINUTE)).admitted).to.equal(true)
      expect((await a.admit('ceiling', 3, MINUTE)).admitted).to.equal(false)
      expect((await a.admit('other', 3, MINUTE)).admitted).to.equal(true)
    })

    it('should count an event given back no more, and give back only what was admitted', async () => {
      const [a, b] = [await member(), await member()]
      const first = await a.admit('tickets', 2, MINUTE)
      clock += 1000
      await b.admit('tickets', 2, MINUTE)
      clock += 1000
      expect((await a.admit('tickets', 2, MINUTE)).admitted).to.equal(false)
      // an error that had its ticket already: its slot goes back, for any member of the fleet
      await b.giveBack('tickets', first.freeAt)
      await b.giveBack('tickets', first.freeAt)
      await a.giveBack('tickets', START + 30_000)
      await a.giveBack('nothing', START)
      expect((await a.admit('tickets', 2, MINUTE)).admitted).to.equal(true)
      const refused = await b.admit('tickets', 2, MINUTE)
      expect(refused).to.deep.equal({ admitted: false, freeAt: START + 1000 + MINUTE })
    })

    it('should count events in a window across members', async () => {
      const [a, b] = [await member(), await member()]
      const counts = []
      for (let i = 0; i < 6; i++) counts.push(await (i % 2 ? a : b).countInWindow('k', MINUTE))
      expect(counts).to.deep.equal([1, 2, 3, 4, 5, 6])
    })

    it('should give a claim to one holder at a time, given back only with its token', async () => {
      const [a, b] = [await member(), await member()]
      const token = await a.claim('ticket:fp', MINUTE)
      expect(token).to.be.a('string')
      expect(await b.claim('ticket:fp', MINUTE)).to.equal(undefined)
      await b.release('ticket:fp', 'not-the-token')
      expect(await b.claim('ticket:fp', MINUTE)).to.equal(undefined)
      await a.release('ticket:fp', token!)
      expect(await b.claim('ticket:fp', MINUTE)).to.be.a('string')
    })
  })
}
