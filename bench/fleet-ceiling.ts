/**
 * How many reports per second a fleet can push into one Redis before the
 * error path slows down, and what a cluster changes.
 *
 *   node --import tsx bench/fleet-ceiling.ts [--processes 1,8,32] [--rates 500,1000,…]
 *     [--seconds 5] [--cluster] [--apps 1] [--probe 40] [--counts-only] [--priority=-10] [--smoke]
 *
 * A private redis-server (with `--cluster`, a 3-primary, 3-replica cluster),
 * one real app process answering `/boom/A` through faultline with that store
 * (the probe: `--probe` requests a second, open loop), and N simulated app
 * processes: N stores opened as an app opens them, packed into at most two
 * OS processes (bench/lib/ceiling-load.ts), fed reports on a fixed schedule at
 * a total rate that steps up until the error path slows down. With `--apps`,
 * the simulated processes belong to that many apps (on a cluster, each on
 * its own primary). See bench/README.md, "How much one Redis takes".
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { spawnScript } from '../test/support/processes.js'
import { startRedis } from '../test/support/redis.js'
import { startRedisCluster } from '../test/support/redis-cluster.js'
import type { StepResult } from './lib/ceiling-load.js'
import { startFleet, stopFleet, type Worker } from './lib/ceiling-fleet.js'
import {
  appsOnDistinctPrimaries,
  cpuSeconds,
  flushAll,
  openReadBack,
  percentile,
  probe,
  redisPids,
  waitSeconds,
  commandSeconds,
  primariesAmong,
} from './lib/ceiling-measure.js'
import { judge, formatRow, HEADER, type Row } from './lib/ceiling-table.js'

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '1,8,32' },
    rates: { type: 'string', default: '500,1000,2000,4000,8000,16000' },
    seconds: { type: 'string', default: '5' },
    cluster: { type: 'boolean', default: false },
    apps: { type: 'string', default: '1' },
    probe: { type: 'string', default: '40' },
    priority: { type: 'string' },
    'counts-only': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
})
const SMOKE = values.smoke
const PROCESSES = SMOKE ? [2] : values.processes.split(',').map(Number)
const RATES = SMOKE ? [200] : values.rates.split(',').map(Number)
const SECONDS = SMOKE ? 1 : Number(values.seconds)
const PROBE_RATE = SMOKE ? 10 : Number(values.probe)
const MAIL = !values['counts-only']
/**
 * With `--priority=-10`, the bench's own processes (Redis, the app, the load) run at that scheduling
 * priority: on a machine shared with other work they then compete among themselves for its cores,
 * as a fleet and its Redis do on hosts of their own. Needs root for a negative value.
 */
const PRIORITY = values.priority === undefined ? undefined : Number(values.priority)

function prioritize(...pids: number[]): void {
  if (PRIORITY !== undefined) for (const pid of pids) setPriority(pid, PRIORITY)
}

interface Setup {
  url: string
  ports: number[]
  redisPids: number[]
  primaries: number[]
  appPid: number
  appPort: number
  readBack: Awaited<ReturnType<typeof openReadBack>>
}

async function runStep(setup: Setup, workers: Worker[], n: number, apps: string[], rate: number) {
  await flushAll(setup.ports)
  const total = workers.reduce((s, w) => s + w.stores, 0)
  const cpu = () => setup.redisPids.map(cpuSeconds)
  const waited = () => setup.redisPids.reduce((sum, pid) => sum + waitSeconds(pid), 0)
  const redisBefore = cpu()
  const waitedBefore = waited()
  const [loadAverage] = loadavg()
  const appBefore = cpuSeconds(setup.appPid)
  const started = performance.now()
  const results = Promise.all(
    workers.map((w) => {
      const answer = w.next<StepResult>('result')
      w.child.send({ step: { rate: (rate * w.stores) / total, seconds: SECONDS } })
      return answer
    }),
  )
  const [steps, requests] = await Promise.all([results, probe(setup.appPort, PROBE_RATE, results)])
  const wall = (performance.now() - started) / 1000
  const redisUsed = cpu().map((after, i) => after - redisBefore[i]!)
  const redisWaited = waited() - waitedBefore
  const busy = await commandSeconds(setup.primaries)
  await new Promise((r) => setTimeout(r, 200)) // a call past its deadline may still land
  let recorded = 0
  for (const app of apps) recorded += await setup.readBack.counted(app)
  const sum = (pick: (s: StepResult) => number) => steps.reduce((s, r) => s + pick(r), 0)
  const records = steps.flatMap((s) => s.record)
  const gathers = steps.flatMap((s) => s.gather)
  const row: Row = {
    processes: n,
    offered: rate,
    issued: sum((s) => s.issued),
    recorded,
    achieved: recorded / SECONDS,
    recordP50: percentile(records, 50),
    recordP99: percentile(records, 99),
    gatherP99: percentile(gathers, 99),
    fallbacks: sum((s) => s.fallbacks),
    downs: sum((s) => s.downs),
    redisCpu: redisUsed.reduce((a, b) => a + b, 0) / wall,
    busiestRedis: Math.max(...redisUsed) / wall,
    redisWaiting: redisWaited / wall,
    redisPerReport: (busy / Math.max(recorded, 1)) * 1e6,
    loadAverage: loadAverage!,
    loadCpu: sum((s) => s.cpu) / wall,
    appCpu: (cpuSeconds(setup.appPid) - appBefore) / wall,
    loopP99: Math.max(...steps.map((s) => s.loopP99)),
    requestP50: percentile(requests.times, 50),
    requestP99: percentile(requests.times, 99),
    requestsFailed: requests.failed,
    unsettled: sum((s) => s.unsettled),
  }
  return row
}

/**
 * One step judged against the lowest rate run just before it: the machine's
 * other load changes by the minute, so a step is compared with its own baseline.
 */
async function pairedStep(
  setup: Setup,
  workers: Worker[],
  n: number,
  apps: string[],
  rate: number,
) {
  const base = rate === RATES[0] ? undefined : await runStep(setup, workers, n, apps, RATES[0]!)
  const row = await runStep(setup, workers, n, apps, rate)
  judge(row, base ?? row)
  return row
}

/** Steps the rate up until the error path slows down; a step that fails is run again once before the run stops. */
async function climb(setup: Setup, n: number, apps: string[]): Promise<Row[]> {
  // the smoke checks that every report is counted: a 5 s deadline keeps a busy test machine from failing it
  const timeoutMs = SMOKE ? 5000 : undefined
  const workers = await startFleet({
    url: setup.url,
    n,
    apps,
    mail: MAIL,
    osProcesses: 2,
    timeoutMs,
  })
  prioritize(...workers.map((w) => w.child.pid!))
  const rows: Row[] = []
  try {
    // the scripts loaded, the code warm, the connections made: then the lowest step is a fair baseline
    await runStep(setup, workers, n, apps, RATES[0]!)
    for (const rate of RATES) {
      let row = await pairedStep(setup, workers, n, apps, rate)
      if (!row.within) {
        console.log(`${formatRow(row)} (run again)`)
        row = await pairedStep(setup, workers, n, apps, rate)
      }
      rows.push(row)
      console.log(formatRow(row))
      if (!row.within) break
    }
  } finally {
    await stopFleet(workers)
  }
  return rows
}

async function startServers() {
  if (values.cluster) {
    const cluster = await startRedisCluster()
    const apps = await appsOnDistinctPrimaries(cluster.ports[0]!, Number(values.apps))
    return { url: cluster.url, ports: cluster.ports, stop: () => cluster.stop(), apps }
  }
  const redis = await startRedis()
  const apps = [
    'fleet',
    ...Array.from({ length: Number(values.apps) - 1 }, (_, i) => `shop${i + 1}`),
  ]
  return { url: redis.url, ports: [redis.port], stop: () => redis.stop(), apps }
}

const servers = await startServers()
const outbox = mkdtempSync(join(tmpdir(), 'faultline-bench-ceiling-'))
const app = spawnScript('fleet-app.ts', [], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    FLEET_STORE: servers.url,
    FLEET_OUTBOX: outbox,
    FLEET_QUIET: '1',
  },
})
const summary: Row[][] = []
let setup: Setup | undefined
try {
  const line = await app.waitForLine((l) => l.startsWith('{"port"'))
  const pids = redisPids(servers.ports)
  prioritize(process.pid, app.child.pid!, ...pids)
  if (pids.length !== servers.ports.length)
    throw new Error(`found ${pids.length} redis-server PIDs`)
  setup = {
    url: servers.url,
    ports: servers.ports,
    redisPids: pids,
    primaries: await primariesAmong(servers.ports),
    appPid: app.child.pid!,
    appPort: (JSON.parse(line) as { port: number }).port,
    readBack: await openReadBack(servers.url, values.cluster),
  }
  const topology = values.cluster ? 'a 3-primary cluster' : 'one redis-server'
  console.log(
    `${topology}, apps ${servers.apps.join(', ')}; ${MAIL ? 'counts and mail window' : 'counts only'} per report; ` +
      `${SECONDS} s per step; the app probed with GET /boom/A ${PROBE_RATE}/s` +
      `${PRIORITY === undefined ? '' : `; the bench's processes at priority ${PRIORITY}`}\n`,
  )
  console.log(HEADER)
  for (const n of PROCESSES) summary.push(await climb(setup, n, servers.apps))
} finally {
  app.child.kill('SIGTERM')
  await Promise.race([app.exited, new Promise((r) => setTimeout(r, 6000))])
  if (app.child.exitCode === null) app.child.kill('SIGKILL')
  await setup?.readBack.close()
  await servers.stop()
  rmSync(outbox, { recursive: true, force: true })
}
for (const rows of summary) {
  const passed = rows.filter((r) => r.within)
  const best = passed.at(-1)
  const failed = rows.find((r) => !r.within)
  console.log(
    `${rows[0]!.processes} processes: ceiling ${best ? `${best.offered} reports/s offered (${best.achieved.toFixed(0)} recorded/s)` : 'below the lowest step'}` +
      (failed ? `; at ${failed.offered}/s: ${failed.why!.join(', ')}` : '; no step slowed down'),
  )
}
if (SMOKE) {
  const row = summary[0]![0]!
  const problems = [
    row.recorded !== row.issued && `Redis counted ${row.recorded} of ${row.issued} reports`,
    row.fallbacks > 0 && `${row.fallbacks} calls answered locally`,
    row.requestsFailed > 0 && `${row.requestsFailed} probe requests failed`,
    !(row.requestP99 > 0) && 'no probe request answered',
  ].filter(Boolean)
  console.log(JSON.stringify({ smoke: problems.length ? 'failed' : 'ok', problems, row }))
  if (problems.length) process.exitCode = 1
}
