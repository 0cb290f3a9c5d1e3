/**
 * Turns the samples of a run into the table: medians over rounds, each
 * metric as a ratio to the limit (the faster bare variant on that route, in
 * the same run), and faultline's targets checked against it.
 */
import type { Evidence } from './routes.js'
import { findContender } from './contenders.js'
import { evidenceSummary } from './evidence.js'
import type { WrkResult } from './wrk.js'

export interface Sample {
  contender: string
  route: string
  round: number
  wrk?: WrkResult
  /** Peak resident set (VmHWM) when the load stopped, and resident set right after start, in kB. */
  hwmKB?: number
  readyRssKB?: number
  /** CPU share other processes took on the busier of the two cores (server's, wrk's) during the measured run, in percent. */
  foreignPct?: number
  /** The server's own CPU time during the measured load, per request answered (µs). */
  cpuUsPerRequest?: number
  /** How many times this measurement was repeated because other processes disturbed it. */
  retries?: number
  evidence?: Evidence
  /** Lines the server wrote to its stderr (a file) in its whole life, warm-up included, against the requests it served. */
  stderr?: { lines: number; requests: number }
  problems: string[]
}

export interface Row {
  contender: string
  route: string
  rounds: number
  rps: number
  p50: number
  p99: number
  hwmMB: number
  unwrittenBytes: number
  closeMs: number
  non2xx: number
  socketErrors: number
  evidence: string
  problems: string[]
  /** Requests/s of each round, by round: for the spread of the ratio from round to round. */
  rpsByRound: Record<number, number>
}

export interface Ratios {
  rps: number
  p50: number
  p99: number
  hwm: number
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function aggregate(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>()
  for (const s of samples)
    groups.set(`${s.route}\0${s.contender}`, [
      ...(groups.get(`${s.route}\0${s.contender}`) ?? []),
      s,
    ])
  return [...groups.values()].map((group) => {
    const first = group[0]!
    const measured = group.filter((s) => s.wrk && s.evidence)
    const pick = (f: (s: Sample) => number) => median(measured.map(f))
    const last = measured.at(-1)
    return {
      contender: first.contender,
      route: first.route,
      rounds: measured.length,
      rps: pick((s) => s.wrk!.rps),
      p50: pick((s) => s.wrk!.p50),
      p99: pick((s) => s.wrk!.p99),
      hwmMB: pick((s) => (s.hwmKB ?? NaN) / 1024),
      unwrittenBytes: pick((s) => s.evidence!.unwrittenBytes),
      closeMs: pick((s) => s.evidence!.closeMs),
      non2xx: pick((s) => s.wrk!.non2xx),
      socketErrors: pick((s) => s.wrk!.socketErrors),
      evidence: last?.evidence ? evidenceSummary(first.contender, first.route, last.evidence) : '—',
      problems: [...new Set(group.flatMap((s) => s.problems))],
      rpsByRound: Object.fromEntries(measured.map((s) => [s.round, s.wrk!.rps])),
    }
  })
}

/** The limit on a route: the bare variant with more requests/s. */
export function limitOf(rows: Row[], route: string): Row | undefined {
  const bare = rows.filter(
    (r) => r.route === route && findContender(r.contender).bare && Number.isFinite(r.rps),
  )
  return bare.sort((a, b) => b.rps - a.rps)[0]
}

export function ratios(row: Row, limit: Row | undefined): Ratios {
  if (!limit) return { rps: NaN, p50: NaN, p99: NaN, hwm: NaN }
  return {
    rps: row.rps / limit.rps,
    p50: row.p50 / limit.p50,
    p99: row.p99 / limit.p99,
    hwm: row.hwmMB / limit.hwmMB,
  }
}

/** The lowest and highest round-by-round ratio of requests/s to that round's limit (its faster bare variant). */
export function rpsRange(row: Row, rows: Row[]): [number, number] | undefined {
  const bare = rows.filter((r) => r.route === row.route && findContender(r.contender).bare)
  const ratios = Object.entries(row.rpsByRound).flatMap(([round, rps]) => {
    const limit = Math.max(0, ...bare.map((r) => r.rpsByRound[Number(round)] ?? 0))
    return limit > 0 ? [rps / limit] : []
  })
  return ratios.length > 1 ? [Math.min(...ratios), Math.max(...ratios)] : undefined
}

const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—')
const bytes = (n: number) =>
  !Number.isFinite(n)
    ? '—'
    : n >= 1 << 20
      ? `${(n / (1 << 20)).toFixed(1)} MB`
      : n >= 1024
        ? `${(n / 1024).toFixed(0)} kB`
        : `${Math.round(n)} B`

export function markdownTable(rows: Row[], routes: string[], contenders: string[]): string {
  const lines = [
    '| route | contender | req/s | ×limit (rounds) | p50 ms | ×limit | p99 ms | ×limit | peak RSS MB | ×limit | unwritten at stop | close | evidence |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ]
  for (const route of routes) {
    const limit = limitOf(rows, route)
    for (const name of contenders) {
      const row = rows.find((r) => r.route === route && r.contender === name)
      if (!row) continue
      const q = ratios(row, limit)
      const mark = row === limit ? ' (limit)' : ''
      const flag = row.problems.length ? ' ⚠' : ''
      const range = rpsRange(row, rows)
      const spread =
        range && row !== limit ? ` (${range[0].toFixed(2)}–${range[1].toFixed(2)})` : ''
      lines.push(
        `| ${route} | ${name}${mark} | ${Math.round(row.rps)} | ${x(q.rps)}${spread} | ${row.p50.toFixed(2)} | ${x(q.p50)} | ${row.p99.toFixed(2)} | ${x(q.p99)} | ${row.hwmMB.toFixed(0)} | ${x(q.hwm)} | ${bytes(row.unwrittenBytes)} | ${Math.round(row.closeMs)} ms | ${row.evidence}${flag} |`,
      )
    }
  }
  return lines.join('\n')
}

export interface Target {
  what: string
  met: boolean
  detail: string
}

/** faultline's targets from the issue, checked on one run's rows. */
export function checkTargets(rows: Row[], routes: string[]): Target[] {
  const targets: Target[] = []
  for (const route of routes) {
    const row = rows.find((r) => r.route === route && r.contender === 'faultline')
    const limit = limitOf(rows, route)
    if (!row || !limit) continue
    const q = ratios(row, limit)
    const floor =
      route === '/ok'
        ? 0.97
        : route === '/missing'
          ? 0.9
          : route === '/boom' || route === '/async-boom'
            ? 0.85
            : undefined
    if (floor !== undefined)
      targets.push({
        what: `${route} throughput ≥ ${floor}×`,
        met: q.rps >= floor,
        detail: x(q.rps),
      })
    targets.push({
      what: `${route} evidence (every outcome recorded)`,
      met: row.problems.length === 0 && row.rounds > 0,
      detail: row.problems.join('; ') || row.evidence,
    })
    if (route === '/boom')
      targets.push({
        what: `${route} p99 ≤ 1.5× the limit's`,
        met: q.p99 <= 1.5,
        detail: `${x(q.p99)} (${row.p99.toFixed(1)} ms vs ${limit.p99.toFixed(1)} ms)`,
      })
    if (route === '/boom' || route === '/async-boom') {
      targets.push({
        what: `${route} peak RSS ≤ 1.3× bare`,
        met: q.hwm <= 1.3,
        detail: `${x(q.hwm)} (${row.hwmMB.toFixed(0)} MB vs ${limit.hwmMB.toFixed(0)} MB)`,
      })
      targets.push({
        what: `${route} unwritten at stop ≤ 1 MB`,
        met: row.unwrittenBytes <= 1 << 20,
        detail: bytes(row.unwrittenBytes),
      })
      targets.push({
        what: `${route} close() < 1 s`,
        met: row.closeMs < 1000,
        detail: `${Math.round(row.closeMs)} ms`,
      })
    }
    const peers = rows.filter(
      (r) => r.route === route && findContender(r.contender).peer && Number.isFinite(r.rps),
    )
    const best = peers.sort((a, b) => b.rps - a.rps)[0]
    if (best) {
      targets.push({
        what: `${route} ahead of every peer`,
        met: row.rps > best.rps,
        detail: `${Math.round(row.rps)} vs ${best.contender} ${Math.round(best.rps)} req/s`,
      })
      // by more than the noise: faultline's worst round still beats the best peer's best round
      const ours = rpsRange(row, rows)
      const theirs = rpsRange(best, rows)
      if (ours && theirs)
        targets.push({
          what: `${route} ahead of every peer by more than the spread of rounds`,
          met: ours[0] > theirs[1],
          detail: `faultline ${ours[0].toFixed(2)}–${ours[1].toFixed(2)}× vs ${best.contender} ${theirs[0].toFixed(2)}–${theirs[1].toFixed(2)}×`,
        })
    }
  }
  return targets
}
