/** One step of bench/fleet-ceiling.ts, how it is judged against the lowest step run just before it, and how it is printed. */
export interface Row {
  processes: number
  /** Reports per second offered by the fleet, together. */
  offered: number
  issued: number
  /** Reports of the step Redis counted, read back. */
  recorded: number
  /** `recorded` over the step's scheduled seconds. */
  achieved: number
  /** Store batch latency: `record` handed over to its batch answered, ms. */
  recordP50: number
  recordP99: number
  /** The mail window's `gather` (one script per report, no batch), ms. */
  gatherP99: number
  /** Calls answered locally: past the deadline, or while the store counted Redis as gone. */
  fallbacks: number
  /** Times a simulated process said the shared store was unavailable. */
  downs: number
  /** Redis CPU, in cores: every node together, and the busiest one. */
  redisCpu: number
  busiestRedis: number
  /** How long Redis's main thread waited for a core while it had work, in cores: the machine's other load. */
  redisWaiting: number
  /** Time the primaries spent running commands per report counted, µs (the probed app's own included). */
  redisPerReport: number
  /** The machine's 1-minute load average when the step started. */
  loadAverage: number
  /** CPU of the simulated processes' OS processes, and of the probed app process, in cores. */
  loadCpu: number
  appCpu: number
  /** The worst event-loop delay p99 among the simulated processes' OS processes, ms. */
  loopP99: number
  requestP50: number
  requestP99: number
  requestsFailed: number
  unsettled: number
  within?: boolean
  why?: string[]
  /** Store p99 and request p99 over those of the lowest step run just before. */
  ratios?: { store: number; request: number }
}

/** The bounds a step must stay within, against the lowest step of the same fleet. */
export const BOUNDS = { recordP99: 2, requestP99: 1.5, recorded: 0.95 }

/**
 * Within the ceiling: store batch p99 within 2× of the lowest step's, request
 * p99 within 1.5×, no call answered locally, and Redis counted at least 95%
 * of what was offered (less means the load itself fell behind its schedule).
 */
export function judge(row: Row, lowest: Row): void {
  const why: string[] = []
  row.ratios = {
    store: row.recordP99 / lowest.recordP99,
    request: row.requestP99 / lowest.requestP99,
  }
  if (row.recordP99 > BOUNDS.recordP99 * lowest.recordP99)
    why.push(`store p99 ${(row.recordP99 / lowest.recordP99).toFixed(1)}× the lowest step's`)
  if (row.requestP99 > BOUNDS.requestP99 * lowest.requestP99)
    why.push(`request p99 ${(row.requestP99 / lowest.requestP99).toFixed(1)}× the lowest step's`)
  if (row.fallbacks > 0) why.push(`${row.fallbacks} calls answered locally`)
  if (row.achieved < BOUNDS.recorded * row.offered)
    why.push(`Redis counted ${row.recorded} of ${row.issued}`)
  if (row.requestsFailed > 0) why.push(`${row.requestsFailed} requests failed`)
  row.why = why
  row.within = why.length === 0
}

export const HEADER = [
  '| processes | offered/s | recorded/s | store p50 / p99 ms | mail gather p99 ms | fallbacks | Redis CPU (busiest node) | Redis waiting for a core | Redis command µs/report | load CPU (loop p99 ms) | app CPU | load avg | request p50 / p99 ms | p99 vs lowest step (store / request) | within |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
].join('\n')

const ms = (v: number) => (Number.isNaN(v) ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(0))
const cores = (v: number) => `${(v * 100).toFixed(0)}%`

export function formatRow(row: Row): string {
  const redis =
    row.busiestRedis < row.redisCpu - 0.005
      ? `${cores(row.redisCpu)} (${cores(row.busiestRedis)})`
      : cores(row.redisCpu)
  return `| ${[
    row.processes,
    row.offered,
    row.achieved.toFixed(0),
    `${ms(row.recordP50)} / ${ms(row.recordP99)}`,
    ms(row.gatherP99),
    row.fallbacks + (row.downs ? ` (${row.downs} outage${row.downs > 1 ? 's' : ''} said)` : ''),
    redis,
    cores(row.redisWaiting),
    row.redisPerReport.toFixed(0),
    `${cores(row.loadCpu)} (${ms(row.loopP99)})`,
    cores(row.appCpu),
    row.loadAverage.toFixed(1),
    `${ms(row.requestP50)} / ${ms(row.requestP99)}`,
    `${(row.ratios?.store ?? 1).toFixed(1)}× / ${(row.ratios?.request ?? 1).toFixed(1)}×`,
    row.within ? 'yes' : `no: ${row.why!.join(', ')}`,
  ].join(' | ')} |`
}
