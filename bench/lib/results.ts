/**
 * The end of a bench run: the table, the targets, the CPU and stderr lines
 * per route and contender, printed and written to results.json and table.md.
 * It lives apart from bench/run.ts, which takes the samples, so that what a
 * run reports (also for `--report`, from an earlier run's samples) reads in
 * one place.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { aggregate, checkTargets, markdownTable, median, type Sample } from './report.js'

function versionOf(pkg: string): string {
  try {
    const manifest = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

/** Prints the run's table and lines, and writes them with the samples into `out`. */
export function finish(
  samples: Sample[],
  routes: string[],
  contenders: string[],
  out: string,
  started: number,
): void {
  const foreignValues = samples.flatMap((s) => (s.foreignPct === undefined ? [] : [s.foreignPct]))
  const foreign = (f: (v: number[]) => number) =>
    foreignValues.length ? `${f(foreignValues).toFixed(0)}%` : 'not measured'
  const rows = aggregate(samples)
  const table = markdownTable(rows, routes, contenders)
  const targets = checkTargets(rows, routes)
  const versions = ['express', 'winston', 'express-winston', 'pino', 'pino-http', '@sentry/node']
    .map((p) => `${p} ${versionOf(p)}`)
    .join(', ')
  const text = [
    table,
    '',
    `Node ${process.version}; ${versions}. Medians of ${Math.max(...rows.map((r) => r.rounds), 0)} rounds; ratios are to the limit (the faster bare variant on the route, marked).`,
    '',
    'faultline targets:',
    ...targets.map((t) => `- ${t.met ? 'MET   ' : 'MISSED'} ${t.what}: ${t.detail}`),
    '',
    ...[...new Set(rows.flatMap((r) => r.problems))].map((p) => `⚠ ${p}`),
    ...cpuLines(samples, routes, contenders),
    ...stderrLines(samples, routes, contenders),
    `other processes on the busier core during the measured runs (kept samples): median ${foreign(median)}, worst ${foreign((v) => Math.max(...v))}`,
    `total time ${((Date.now() - started) / 60_000).toFixed(1)} min`,
  ].join('\n')
  process.stdout.write(`\n${text}\n`)
  writeFileSync(
    join(out, 'results.json'),
    `${JSON.stringify({ samples, rows, targets, versions }, null, 2)}\n`,
  )
  writeFileSync(join(out, 'table.md'), `${text}\n`)
  process.stdout.write(`results: ${join(out, 'results.json')}, ${join(out, 'table.md')}\n`)
}

/** The server's CPU per request, median and range over rounds, per route and contender. */
function cpuLines(samples: Sample[], routes: string[], contenders: string[]): string[] {
  const lines = []
  for (const route of routes)
    for (const name of contenders) {
      const values = samples
        .filter((s) => s.route === route && s.contender === name)
        .flatMap((s) => (s.cpuUsPerRequest === undefined ? [] : [s.cpuUsPerRequest]))
      if (values.length === 0) continue
      const range = `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`
      lines.push(`${route} ${name}: ${median(values).toFixed(1)} µs CPU/req (${range})`)
    }
  return lines.length ? ['server CPU per request (median, rounds):', ...lines, ''] : []
}

/**
 * The server's stderr in lines against the requests it served, per route and
 * contender (medians): in a storm, what an operator's `docker logs` gets.
 */
function stderrLines(samples: Sample[], routes: string[], contenders: string[]): string[] {
  const lines = []
  for (const route of routes)
    for (const name of contenders) {
      const kept = samples.filter((s) => s.route === route && s.contender === name && s.stderr)
      if (kept.length === 0) continue
      const lineCount = median(kept.map((s) => s.stderr!.lines))
      const requests = median(kept.map((s) => s.stderr!.requests))
      lines.push(`${route} ${name}: ${lineCount} lines for ${requests} requests`)
    }
  return lines.length ? ['server stderr (median, rounds; warm-up included):', ...lines, ''] : []
}
