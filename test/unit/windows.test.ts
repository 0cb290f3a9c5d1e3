import { expect } from 'chai'
import { TicketWindows } from '../../transports/ticket/windows.js'
import type { Track } from '../../transports/ticket/work.js'
import { makeReport, sleep, until } from './fakes.js'

type Ended = { fingerprint: string; count: number; ids: string[]; first: Track['first'] }

/** Ticket windows of `windowMs` (short real windows: the module takes no clock), recording each end. */
function windowsOf(
  options: { windowMs?: number; maxFingerprints?: number; maxHeldBytes?: number } = {},
) {
  const ended: Ended[] = []
  const windows = new TicketWindows({
    windowMs: options.windowMs ?? 3600_000,
    maxFingerprints: options.maxFingerprints ?? 100,
    maxHeldBytes: options.maxHeldBytes ?? 1024 * 1024,
    ended: (fingerprint, track) =>
      ended.push({
        fingerprint,
        count: track.count,
        ids: track.occurrences.map((o) => o.id),
        first: track.first,
      }),
  })
  return { windows, ended }
}

const occurrence = (fingerprint: string, n: number) =>
  makeReport({
    fingerprint,
    id: `ID-${n}`,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
  })

describe('TicketWindows', () => {
  const opened: TicketWindows[] = []
  afterEach(() => opened.splice(0).forEach((w) => w.close()))
  const make = (options?: Parameters<typeof windowsOf>[0]) => {
    const made = windowsOf(options)
    opened.push(made.windows)
    return made
  }

  it('should count later occurrences only into an open window', () => {
    const { windows } = make()
    expect(windows.count(occurrence('fp', 1)), 'before any window').to.equal(false)
    windows.open(occurrence('fp', 1))
    expect(windows.count(occurrence('fp', 2))).to.equal(true)
    expect(windows.count(occurrence('other', 3))).to.equal(false)
  })

  it('should turn what a window counted into one comment at its end, and keep counting into the next', async () => {
    const { windows, ended } = make({ windowMs: 30 })
    windows.open(occurrence('fp', 0))
    for (let n = 1; n <= 3; n++) windows.count(occurrence('fp', n))
    await until(() => ended.length === 1, 'the first window to end')
    expect(ended[0]).to.include({ fingerprint: 'fp', count: 3 })
    expect(ended[0]!.ids).to.deep.equal(['ID-1', 'ID-2', 'ID-3'])
    expect(windows.count(occurrence('fp', 4)), 'the next window is open').to.equal(true)
    await until(() => ended.length === 2, 'the second window to end')
    expect(ended[1]).to.include({ count: 1 })
  })

  it('should close a window that counted nothing, without a comment', async () => {
    const { windows, ended } = make({ windowMs: 10 })
    windows.open(occurrence('fp', 0))
    await sleep(40)
    expect(ended).to.deep.equal([])
    expect(windows.count(occurrence('fp', 1)), 'no window left').to.equal(false)
    expect(windows.stats().windowed).to.equal(0)
  })

  it('should list at most 50 occurrences in a comment, and count them all', () => {
    const { windows, ended } = make()
    windows.open(occurrence('fp', 0))
    for (let n = 1; n <= 500; n++) windows.count(occurrence('fp', n))
    windows.endAll()
    expect(ended[0]!.count).to.equal(500)
    expect(ended[0]!.ids).to.have.length(50)
  })

  it('should end the oldest window early past maxFingerprints, its count going out', () => {
    const { windows, ended } = make({ maxFingerprints: 2 })
    windows.open(occurrence('a', 0))
    windows.count(occurrence('a', 1))
    windows.open(occurrence('b', 2))
    windows.open(occurrence('c', 3))
    expect(ended.map((e) => e.fingerprint)).to.deep.equal(['a'])
    expect(windows.stats().windowed).to.equal(2)
    expect(windows.count(occurrence('a', 4)), 'a starts afresh').to.equal(false)
  })

  it("should keep whole first reports only within maxHeldBytes, and past it no request's data", () => {
    const one = JSON.stringify(occurrence('a', 0)).length
    const { windows, ended } = make({ maxHeldBytes: one + 10 })
    windows.open(occurrence('a', 0))
    windows.open(occurrence('b', 1))
    expect(windows.stats()).to.deep.include({ windowed: 2, heldReports: 1 })
    expect(windows.stats().heldBytes).to.be.at.most(one + 10)
    windows.count(occurrence('a', 2))
    windows.count(occurrence('b', 3))
    windows.endAll()
    const byFp = Object.fromEntries(ended.map((e) => [e.fingerprint, e.first]))
    expect(byFp.a!.request!.body).to.deep.equal({ note: 'x'.repeat(100) })
    expect(byFp.b!.request).to.deep.include({ method: 'GET', url: '/orders/7' })
    expect(byFp.b!.request!.body).to.equal(undefined)
  })

  it('should end no window by itself once closed', async () => {
    const { windows, ended } = make({ windowMs: 10 })
    windows.open(occurrence('fp', 0))
    windows.count(occurrence('fp', 1))
    windows.close()
    await sleep(40)
    expect(ended).to.deep.equal([])
  })
})
