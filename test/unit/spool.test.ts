import { expect } from 'chai'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Spool } from '../../transports/delivery/spool.js'
import { deadPid, orphanSegments, segments, tempDir } from './fakes.js'

type Unit = { n: number }

describe('Spool', () => {
  let dir: string
  let remove: () => void
  const open: Array<Spool<Unit>> = []
  const spoolAt = (options: { maxBytes?: number } = {}) => {
    const spool = new Spool<Unit>({ dir, ...options })
    open.push(spool)
    return spool
  }

  beforeEach(() => ({ dir, remove } = tempDir('spool')))
  afterEach(async () => {
    for (const spool of open.splice(0)) await spool.close()
    remove()
  })

  /** What the next process replays from what this one leaves, as if it had crashed. */
  async function replayAfterCrash(spool: Spool<Unit>): Promise<string[]> {
    await spool.close()
    orphanSegments(dir)
    return spoolAt()
      .takeRecovered()
      .map((entry) => entry.key)
  }

  it('should not replay a unit appended then acknowledged', async () => {
    const spool = spoolAt()
    spool.put('a', { n: 1 })
    spool.put('b', { n: 2 })
    spool.ack('a')
    expect(await replayAfterCrash(spool)).to.deep.equal(['b'])
  })

  it('should replay what a dead process left unacknowledged, in the order it accepted it, values intact', () => {
    const pid = deadPid()
    const lines = [
      { t: 'put', k: 'k1', v: { n: 1 } },
      { t: 'put', k: 'k2', v: { n: 2 } },
      { t: 'put', k: 'k3', v: { n: 3 } },
      { t: 'ack', k: 'k2' },
    ].map((record) => JSON.stringify(record))
    writeFileSync(join(dir, `seg-${pid}-1-0.jsonl`), `${lines.join('\n')}\n{"t":"put","k":"to`)
    const recovered = spoolAt().takeRecovered()
    expect(recovered).to.deep.equal([
      { key: 'k1', value: { n: 1 } },
      { key: 'k3', value: { n: 3 } },
    ])
    expect(existsSync(join(dir, `seg-${pid}-1-0.jsonl`)), 'the claimed segment').to.equal(false)
  })

  it('should keep what it took over owed, so a second crash loses none of it', async () => {
    const first = spoolAt()
    first.put('a', { n: 1 })
    first.put('b', { n: 2 })
    await first.close()
    orphanSegments(dir)
    const second = spoolAt()
    expect(second.takeRecovered().map((e) => e.key)).to.deep.equal(['a', 'b'])
    second.ack('a')
    expect(await replayAfterCrash(second)).to.deep.equal(['b'])
  })

  it('should hand what was recovered over once only', () => {
    writeFileSync(join(dir, `seg-${deadPid()}-1-0.jsonl`), '{"t":"put","k":"a","v":{"n":1}}\n')
    const spool = spoolAt()
    expect(spool.takeRecovered()).to.have.length(1)
    expect(spool.takeRecovered()).to.deep.equal([])
  })

  it("should leave a living process's segment alone", () => {
    const name = `seg-${process.ppid}-1-0.jsonl`
    writeFileSync(join(dir, name), '{"t":"put","k":"theirs","v":{"n":1}}\n')
    expect(spoolAt().takeRecovered()).to.deep.equal([])
    expect(readFileSync(join(dir, name), 'utf8')).to.contain('theirs')
  })

  it('should refuse a unit past its byte bound, and count only what it kept', () => {
    const spool = spoolAt({ maxBytes: 200 })
    let kept = 0
    for (let n = 0; n < 10; n++) if (spool.put(`key-${n}`, { n })) kept++
    expect(kept).to.be.within(1, 9)
    expect(spool.size().entries).to.equal(kept)
    expect(spool.size().bytes).to.be.at.most(200)
    spool.ack('key-0')
    expect(spool.put('late', { n: 99 }), 'room again after an acknowledgement').to.equal(true)
  })

  it('should bound itself at 64 MiB by default', () => {
    const spool = new Spool<string>({ dir })
    expect(spool.put('big', 'x'.repeat(64 * 1024 * 1024))).to.equal(false)
    expect(spool.put('fits', 'x'.repeat(1024 * 1024))).to.equal(true)
    expect(spool.size().entries).to.equal(1)
    return spool.close()
  })

  it('should record a key once, however often it is put', async () => {
    const spool = spoolAt()
    expect(spool.put('a', { n: 1 })).to.equal(true)
    expect(spool.put('a', { n: 2 })).to.equal(true)
    expect(spool.size().entries).to.equal(1)
    await spool.close()
    orphanSegments(dir)
    expect(spoolAt().takeRecovered()).to.deep.equal([{ key: 'a', value: { n: 1 } }])
  })

  it('should leave nothing on disk when it closes owing nothing', async () => {
    const spool = spoolAt()
    spool.put('a', { n: 1 })
    spool.ack('a')
    await spool.close()
    expect(segments(dir)).to.deep.equal([])
  })

  it('should have a unit on disk once putSync returns, for a process about to exit', async () => {
    const spool = spoolAt()
    spool.putSync('last-words', { n: 7 })
    const [segment] = segments(dir)
    expect(readFileSync(join(dir, segment!), 'utf8')).to.contain('last-words')
    await spool.close()
  })

  it('should refuse units once closed', async () => {
    const spool = spoolAt()
    await spool.close()
    expect(spool.put('after', { n: 1 })).to.equal(false)
  })
})
