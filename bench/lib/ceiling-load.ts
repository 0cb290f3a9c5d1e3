/**
 * One OS process of simulated app processes for bench/fleet-ceiling.ts: each
 * simulated process is a store exactly as an app opens it (`openStore`: the
 * failover with its 1 s deadline, the Redis store with its batching and
 * scripts, its own connection), fed reports on a fixed schedule. Run with
 * `fork`; the parent sends `{ step }` and `{ close }` over IPC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { checkStore } from '../../lib/config/store-option.js'
import { openStore } from '../../lib/store/open-store.js'
import { occurrenceOf } from '../../lib/store/report-bounds.js'
import type { Store } from '../../lib/store/types.js'
import type { Report } from '../../lib/report/report.js'
import { reportsOf } from './ceiling-reports.js'

export interface LoadConfig {
  /** The store URL, as an app's `store` option takes it. */
  url: string
  /** The app name of each simulated process in this OS process. */
  apps: string[]
  /** Whether each report also counts into its mail window (what an app with mail does). */
  mail: boolean
  /** Tells this OS process's reports apart from another's. */
  worker: number
  /** The store's deadline per call, when not the app's default (1 s). */
  timeoutMs?: number
}

export interface StepOrder {
  /** Reports per second this OS process hands its stores, together. */
  rate: number
  seconds: number
}

export interface StepResult {
  issued: number
  /** Milliseconds from `record` called to its batch answered (or answered locally). */
  record: number[]
  /** The same for the mail window's `gather`. */
  gather: number[]
  fallbacks: number
  /** Times a store said the shared store was unavailable. */
  downs: number
  /** Still unanswered when the step's grace ran out. */
  unsettled: number
  /** CPU seconds this OS process used during the step. */
  cpu: number
  /** p99 of this OS process's event-loop delay, ms: a late loop reads Redis's answers late. */
  loopP99: number
}

const MAIL_WINDOW_MS = 60_000
const TICK_MS = 2
const GRACE_MS = 3000

const config = JSON.parse(process.argv[2]!) as LoadConfig
let downs = 0
const setting = checkStore(
  config.timeoutMs ? { url: config.url, timeoutMs: config.timeoutMs } : config.url,
)
const stores: Store[] = config.apps.map((app) =>
  openStore(setting, app, (notice) => {
    if (notice.code === 'FAULTLINE_STORE_DOWN') downs++
  }),
)
const reports = reportsOf(config.worker)
const firstJson = new Map<string, string>()

function allShared(): boolean {
  return stores.every((s) => s.status().shared)
}

/** Waits (bounded) until every store answers through Redis: at start, and after a step that fell back. */
async function untilShared(ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!allShared() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return allShared()
}

function timed(into: number[], call: Promise<unknown>, pending: Set<Promise<unknown>>): void {
  const started = performance.now()
  const done = call.then(
    () => void into.push(performance.now() - started),
    () => void into.push(performance.now() - started),
  )
  pending.add(done)
  void done.finally(() => pending.delete(done))
}

function handOver(
  store: Store,
  report: Report,
  result: StepResult,
  pending: Set<Promise<unknown>>,
) {
  timed(result.record, store.record(report), pending)
  if (!config.mail) return
  let first = firstJson.get(report.fingerprint)
  if (first === undefined) firstJson.set(report.fingerprint, (first = JSON.stringify(report)))
  const gather = store.gather(
    'mail',
    report.fingerprint,
    first,
    occurrenceOf(report),
    MAIL_WINDOW_MS,
  )
  timed(result.gather, gather, pending)
}

/** Open loop: every tick hands over what the schedule says is due by now, whatever is still unanswered. */
async function runStep(order: StepOrder): Promise<StepResult> {
  await untilShared(5000)
  const result: StepResult = {
    issued: 0,
    record: [],
    gather: [],
    fallbacks: 0,
    downs: 0,
    unsettled: 0,
    cpu: 0,
    loopP99: 0,
  }
  const fallbacksBefore = stores.reduce((n, s) => n + s.status().fallbacks, 0)
  const downsBefore = downs
  const pending = new Set<Promise<unknown>>()
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const total = Math.round(order.rate * order.seconds)
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * order.rate) / 1000))
      for (; result.issued < due; result.issued++) {
        const store = stores[result.issued % stores.length]!
        handOver(store, reports.next(), result, pending)
      }
      if (result.issued >= total) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  const grace = new Promise((r) => setTimeout(r, GRACE_MS).unref())
  await Promise.race([Promise.all([...pending]), grace])
  result.unsettled = pending.size
  const cpu = process.cpuUsage(cpuBefore)
  result.cpu = (cpu.user + cpu.system) / 1e6
  loop.disable()
  result.loopP99 = loop.percentile(99) / 1e6
  result.fallbacks = stores.reduce((n, s) => n + s.status().fallbacks, 0) - fallbacksBefore
  result.downs = downs - downsBefore
  return result
}

process.on('message', (message: { step?: StepOrder; close?: boolean }) => {
  if (message.step) void runStep(message.step).then((result) => process.send!({ result }))
  if (message.close)
    void Promise.all(stores.map((s) => s.close())).then(() => {
      process.send!({ closed: true })
      process.exit(0)
    })
})
void untilShared(15_000).then((shared) => process.send!({ ready: shared }))
