import { expect } from 'chai'
import type { IncidentStore, Store } from '../../lib/store/types.js'
import { makeReport } from './incident-store-suite.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** What a storm across a failover left behind, for the assertions and the report's figures. */
export interface StormResult {
  sent: number
  inShared: number
  inLocal: number
  /** Recorded both in the shared store and locally: a call whose answer was lost, answered again locally. */
  doubled: number
  missing: string[]
  /** From the outage notice to the notice that sharing resumed. */
  downMs: number
}

/**
 * Records one report every few milliseconds while `fail` kills the primary, until the store shares again
 * and `after` more went through it; then looks every report up in the shared store and in the local one.
 */
export async function stormThroughFailover(options: {
  store: Store
  local: IncidentStore
  /** A second client's view of the shared store, for the look-ups. */
  shared: IncidentStore
  lines: string[]
  fail: () => Promise<void>
  before?: number
  after?: number
}): Promise<StormResult> {
  const { store, local, shared, lines } = options
  const ids: string[] = []
  const calls: Array<Promise<void>> = []
  const send = () => {
    const report = makeReport('fp-failover', { url: `/orders/${ids.length}` })
    ids.push(report.id)
    calls.push(store.record(report))
  }
  const sendFor = async (count: number) => {
    for (let i = 0; i < count; i++) {
      send()
      await sleep(5)
    }
  }
  await sendFor(options.before ?? 200)
  let downAt = 0
  let upAt = 0
  const failing = options.fail()
  // bounded: at most 60 s of reports while the topology elects a new primary
  for (let i = 0; i < 12_000 && !upAt; i++) {
    send()
    await sleep(5)
    if (!downAt && lines.some((l) => l.includes('unavailable'))) downAt = Date.now()
    if (downAt && store.status().shared) upAt = Date.now()
  }
  await failing
  await sendFor(options.after ?? 200)
  await Promise.all(calls)
  await store.close()
  let inShared = 0
  let inLocal = 0
  let doubled = 0
  const missing: string[] = []
  for (const id of ids) {
    const remote = Boolean(await shared.incident(id))
    const here = Boolean(await local.incident(id))
    inShared += Number(remote)
    inLocal += Number(here)
    doubled += Number(remote && here)
    if (!remote && !here) missing.push(`${ids.indexOf(id)}`)
  }
  return { sent: ids.length, inShared, inLocal, doubled, missing, downMs: upAt - downAt }
}

/**
 * What a failover may cost: no report lost (each in the shared store or the local one, some in
 * both), and one outage said each way. Prints the figures under the test's title.
 */
export function expectFailoverSurvived(
  label: string,
  result: StormResult,
  lines: string[],
  store: Store,
): void {
  console.log(
    `      ${label} failover: ${JSON.stringify({ ...result, missing: result.missing.length })}`,
  )
  expect(result.missing, 'reports found nowhere').to.deep.equal([])
  expect(result.inShared + result.inLocal - result.doubled).to.equal(result.sent)
  expect(lines.filter((l) => l.includes('unavailable'))).to.have.length(1)
  expect(lines.filter((l) => l.includes('answers again'))).to.have.length(1)
  expect(store.status().outages).to.equal(1)
}
