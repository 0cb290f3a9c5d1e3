import { expect } from 'chai'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep, waitUntil } from '../helpers.js'
import {
  agent,
  get,
  mailsAbout,
  many,
  mixed,
  printed,
  startFleet,
  stopFleet,
  storm,
  type Member,
} from '../support/fleet-members.js'
import { startRedis, type RedisServer } from '../support/redis.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from '../support/smtp.js'
import { commentedCount, ticketsIn } from '../support/fleet-tickets.js'

// several app processes sharing a real redis-server, mailing the real SMTP test server

// longer than any storm, however loaded the machine: stopping the fleet ends the window, and
// one member takes the fleet's count as it closes
const LONG_WINDOW = '600000'

/** Stops the fleet once every member has reported its share of the storm (its count is on its way to the store). */
async function stopAfterReports(fleet: Member[], count: number): Promise<void> {
  await waitUntil(
    () => (printed(fleet).length >= count ? true : undefined),
    30_000,
    `${count} reports`,
  )
  await stopFleet(fleet)
}

/**
 * The shared store with ten seconds' patience: on two shared cores a storm can delay an answer
 * past the default second (two seconds were seen missed with other suites running alongside), and
 * a call answered locally after Redis did run it counts twice (the failover's at-least-once). These
 * tests are about sharing, not about a slow Redis; a killed one still fails at once (no offline queue).
 */
function patient(redis: RedisServer): NodeJS.ProcessEnv {
  return { FLEET_STORE: redis.url, FLEET_STORE_TIMEOUT_MS: '10000' }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

describe('a fleet of processes sharing Redis', function () {
  this.timeout(120_000)
  let redis: RedisServer
  let smtp: TestSmtpServer
  let fleet: Member[] = []
  let mailEnv: NodeJS.ProcessEnv
  before(async function () {
    this.timeout(240_000)
    redis = await startRedis()
  })
  after(async () => {
    agent.destroy()
    await redis?.stop()
  })
  beforeEach(async () => {
    smtp = await startSmtpServer()
    mailEnv = { FLEET_MAIL: smtp.url, FLEET_CA: getTestCertificate().certFile }
  })
  afterEach(async () => {
    redis.thaw()
    // a test that failed while Redis was down must not leave the next one without it
    if (!redis.running()) await redis.restart()
    await stopFleet(fleet)
    fleet = []
    await smtp.close()
  })

  it('should send one first mail and one digest per error for 1,010 tracebacks over 4 processes, the digests counting 999 and 9', async () => {
    fleet = await startFleet(4, { ...mailEnv, ...patient(redis), FLEET_WINDOW_MS: LONG_WINDOW })
    const times = await storm(fleet, mixed(many('A', 1000), many('B', 10)))
    expect(times).to.have.length(1010)
    await stopAfterReports(fleet, 1010)
    await waitUntil(
      () => (smtp.received.length >= 4 ? true : undefined),
      30_000,
      'two first mails and two digests',
    )
    const said = fleet.map((m) => m.script.stderr()).join('')
    expect(mailsAbout(smtp, 'A'), said).to.deep.equal({ firsts: 1, digests: [999] })
    expect(mailsAbout(smtp, 'B')).to.deep.equal({ firsts: 1, digests: [9] })
    expect(smtp.received).to.have.length(4)
  })

  it('should file one ticket per error for the same storm, its comments counting every occurrence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-fleet-'))
    try {
      fleet = await startFleet(4, {
        ...patient(redis),
        FLEET_TICKETS: `local:${dir}`,
        FLEET_WINDOW_MS: LONG_WINDOW,
      })
      await storm(fleet, mixed(many('A', 1000), many('B', 10)))
      await stopAfterReports(fleet, 1010)
      const tickets = ticketsIn(dir)
      expect(tickets).to.have.length(2)
      const a = tickets.find((t) => t.title.includes('fleet error A'))!
      const b = tickets.find((t) => t.title.includes('fleet error B'))!
      const said = fleet.map((m) => m.script.stderr()).join('')
      expect(commentedCount(a), said).to.equal(999)
      expect(commentedCount(b)).to.equal(9)
      // one comment per ticket per window: the storm's window ends as the fleet stops
      expect(a.comments).to.have.length(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("should hold a scanner spread over the processes to one client's warning budget for the fleet", async () => {
    fleet = await startFleet(4, patient(redis))
    const probes = Array.from({ length: 40 }, (_, i) => `/no-such-page-${i}`)
    await storm(fleet, probes)
    await stopFleet(fleet)
    const reports = printed(fleet)
    const warnings = reports.filter((r) => r.report === 'warning' && r.held === undefined)
    const held = reports.reduce((sum, r) => sum + (r.held ?? 0), 0)
    // perClient is 5: five warnings for the fleet, the other 35 counted in the summaries
    expect(warnings, fleet.map((m) => m.script.stderr()).join('')).to.have.length(5)
    expect(held, JSON.stringify(fleet.map((m) => m.script.lines))).to.equal(35)
  })

  it('should mail every error at least once when Redis dies mid-storm, say so once per process, and share again once it is back', async () => {
    fleet = await startFleet(4, { ...mailEnv, ...patient(redis), FLEET_WINDOW_MS: '3000' })
    await storm(fleet, many('A', 200))
    // what each process said before: a start-up under load may have found Redis slow once already
    const before = fleet.map((m) => m.script.stderr().length)
    await redis.kill()
    await storm(fleet, mixed(many('A', 200), many('B', 40), many('C', 40)))
    await redis.restart()
    await waitUntil(
      () =>
        fleet.every((m, i) => /answers again/.test(m.script.stderr().slice(before[i])))
          ? true
          : undefined,
      15_000,
      'every process to find Redis back',
    )
    await storm(fleet, mixed(many('D', 40), many('E', 40)))
    await sleep(500)
    for (const [i, m] of fleet.entries()) {
      expect((await get(m.port, '/ok')).status).to.equal(200)
      const said = m.script.stderr().slice(before[i])
      expect(said.match(/is unavailable/g), said).to.have.length(1)
    }
    await stopFleet(fleet)
    for (const kind of ['A', 'B', 'C', 'D', 'E'])
      expect(mailsAbout(smtp, kind).firsts, kind).to.be.at.least(1)
    // shared again: the errors after the restart are mailed once for the fleet
    expect(mailsAbout(smtp, 'D').firsts).to.equal(1)
    expect(mailsAbout(smtp, 'E').firsts).to.equal(1)
    expect(fleet.map((m) => m.script.child.exitCode)).to.deep.equal([0, 0, 0, 0])
  })

  it('should keep request latency within twice that of a fleet without Redis while Redis is frozen', async () => {
    const local = await startFleet(2, { ...mailEnv, FLEET_STORE: 'local' })
    const shared = await startFleet(2, { ...mailEnv, FLEET_STORE: redis.url })
    fleet = [...local, ...shared]
    await Promise.all([storm(local, many('W', 50)), storm(shared, many('W', 50))])
    redis.freeze()
    // rounds taken in turn, so a neighbour's load falls on both alike; two at a time measures the request path, not a queue
    const times = { local: [] as number[], frozen: [] as number[] }
    for (let round = 0; round < 4; round++) {
      const paths = mixed(many(`A${round}`, 60), many(`B${round}`, 20), many('C', 20))
      times.local.push(...(await storm(local, paths, 2)))
      times.frozen.push(...(await storm(shared, paths, 2)))
    }
    redis.thaw()
    const [withoutRedis, frozen] = [median(times.local), median(times.frozen)]
    expect(
      frozen / withoutRedis,
      `p50 ${frozen} ms frozen, ${withoutRedis} ms without Redis`,
    ).to.be.below(2)
  })
})
