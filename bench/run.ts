/**
 * The benchmark: `npm run bench -- [options]`. See bench/README.md.
 *
 * Each contender runs in its own process on 127.0.0.1, pinned to core 1 with
 * wrk on core 0 when there are two cores. Every (round, route, contender)
 * gets a fresh process, so peak RSS, unwritten bytes and close time belong to
 * that route alone; contenders are interleaved within each round, and their
 * order rotates from round to round, so a slow minute of the machine falls on
 * all of them.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ROUTES } from './lib/routes.js'
import { DEFAULT_CONTENDERS, findContender } from './lib/contenders.js'
import { judge } from './lib/evidence.js'
import { coreBusyTicks, processTicks, procStatusKB, startContender } from './lib/proc.js'
import { aggregate, checkTargets, markdownTable, median, type Sample } from './lib/report.js'
import { hasWrk, runWrk } from './lib/wrk.js'
import { runSmoke } from './smoke.js'

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    routes: { type: 'string', default: ROUTES.join(',') },
    contenders: { type: 'string', default: DEFAULT_CONTENDERS.join(',') },
    out: { type: 'string' },
    'max-minutes': { type: 'string', default: '60' },
    'cpu-prof': { type: 'string' },
    'max-foreign': { type: 'string', default: '10' },
    report: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    install: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})

const USAGE = `npm run bench -- [--rounds N] [--duration S] [--warmup S] [--connections C]
    [--routes /ok,/missing,/boom,/async-boom,/hand] [--contenders bare,bare-noop,faultline,express-winston,pino-http,sentry]
    [--out DIR] [--max-minutes M] [--max-foreign PCT] [--cpu-prof CONTENDER,…] [--install] [--smoke]
    [--source]   faultline from its TypeScript sources through tsx, not built (quicker, not what users run)
    [--report DIR/results.json]   print the table of an earlier run again`

function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
}

function positive(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(
      `--${name} must be a positive number, got ${JSON.stringify(value)}\n${USAGE}\n`,
    )
    process.exit(2)
  }
  return n
}

async function smoke(contenders: string[]): Promise<void> {
  const started = Date.now()
  const results = await runSmoke(contenders)
  for (const r of results) {
    const statuses = Object.entries(r.statuses)
      .map(([route, status]) => `${route} ${status}`)
      .join(', ')
    const counts = r.evidence ? JSON.stringify(r.evidence.counts) : '(no evidence)'
    process.stdout.write(
      `${r.problems.length ? 'FAIL' : 'ok  '} ${r.contender.padEnd(16)} ${statuses}  ${counts}\n`,
    )
    for (const p of r.problems) process.stdout.write(`     ${p}\n`)
  }
  process.stdout.write(`smoke done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  process.exit(results.every((r) => r.problems.length === 0) ? 0 : 1)
}

function ensureWrk(): void {
  if (hasWrk()) return
  if (!opts.install) {
    process.stderr.write(
      'wrk is not installed. Install it with:\n  sudo apt-get install wrk\n(or run the bench with --install to have it do that)\n',
    )
    process.exit(2)
  }
  execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', 'wrk'], {
    stdio: 'inherit',
  })
}

const ROOT = resolve(new URL('..', import.meta.url).pathname)

/**
 * Builds the package as `npm run build` does, into the run's folder (the
 * repository's dist/ is left alone), with the repository's node_modules
 * beside it: faultline's contenders load what a user installs.
 */
function buildPackage(out: string): string {
  const pkg = join(out, 'package')
  mkdirSync(pkg, { recursive: true })
  writeFileSync(join(pkg, 'package.json'), '{ "type": "module" }\n')
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const entry = join(pkg, 'dist', 'lib', 'index.js')
  try {
    execFileSync(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
      { stdio: 'inherit' },
    )
  } catch (err) {
    // tsc emits despite type errors (a tree others are editing): measured all the same, and said so
    if (!existsSync(entry)) throw err
    process.stdout.write('tsc reported type errors (above): measuring the JavaScript it emitted\n')
  }
  return entry
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms))
}

function versionOf(pkg: string): string {
  try {
    const manifest = new URL(`../node_modules/${pkg}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

async function main(): Promise<void> {
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const contenders = list(opts.contenders!)
  for (const name of contenders) findContender(name)
  if (opts.smoke) return smoke(contenders)
  if (opts.report) {
    const saved = JSON.parse(readFileSync(opts.report, 'utf8')) as { samples: Sample[] }
    const names = [...new Set(saved.samples.map((s) => s.contender))]
    const paths = [...new Set(saved.samples.map((s) => s.route))]
    return finish(saved.samples, paths, names, join(opts.report, '..'), Date.now())
  }
  const routes = list(opts.routes!)
  for (const route of routes)
    if (!(ROUTES as readonly string[]).includes(route))
      throw new Error(`unknown route ${route}; known: ${ROUTES.join(', ')}`)
  const rounds = positive('rounds', opts.rounds!)
  const durationS = positive('duration', opts.duration!)
  const warmupS = positive('warmup', opts.warmup!)
  const connections = positive('connections', opts.connections!)
  const deadline = Date.now() + positive('max-minutes', opts['max-minutes']!) * 60_000
  const profiled = new Set(list(opts['cpu-prof'] ?? ''))
  const maxForeign = positive('max-foreign', opts['max-foreign']!)
  ensureWrk()

  const pinned = availableParallelism() >= 2
  const out = resolve(
    opts.out ?? join('/tmp/faultline-bench', new Date().toISOString().replace(/[:.]/g, '-')),
  )
  mkdirSync(out, { recursive: true })
  const faultlineEntry = opts.source ? undefined : buildPackage(out)
  const runs = rounds * routes.length * contenders.length
  const estimate = runs * (warmupS + durationS + 4)
  process.stdout.write(
    `faultline bench: ${contenders.length} contenders × ${routes.length} routes × ${rounds} rounds, wrk -t1 -c${connections} -d${durationS}s after ${warmupS} s warm-up\n` +
      `${pinned ? 'server pinned to core 1, wrk to core 0' : 'one core: nothing pinned, numbers are rougher'}; faultline ${faultlineEntry ? `built: ${faultlineEntry}` : 'from its sources (--source)'}; about ${Math.ceil(estimate / 60)} min; files in ${out}\n`,
  )

  const started = Date.now()
  const samples: Sample[] = []
  let run = 0
  for (let round = 0; round < rounds; round++) {
    for (const route of routes) {
      // rotate the order each round: no contender always runs first, on a cold machine, or last
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!)
      for (const name of order) {
        if (Date.now() > deadline) {
          process.stdout.write(
            `--max-minutes reached: stopping with ${samples.length} of ${runs} runs\n`,
          )
          return finish(samples, routes, contenders, out, started)
        }
        run++
        let s = await measure(name, route, round, 0, {
          out,
          pinned,
          durationS,
          warmupS,
          connections,
          cpuProf: profiled.has(name),
          faultlineEntry,
        })
        // another process took a real share of a core: that sample says more about the machine than the contender, so measure again (twice at most)
        for (
          let retry = 1;
          retry <= 2 && (s.foreignPct ?? 0) > maxForeign && Date.now() < deadline;
          retry++
        ) {
          process.stdout.write(
            `    others took ${s.foreignPct!.toFixed(0)}% of a core during ${name} ${route}: measuring again\n`,
          )
          await sleep(2000)
          s = await measure(name, route, round, retry, {
            out,
            pinned,
            durationS,
            warmupS,
            connections,
            cpuProf: profiled.has(name),
            faultlineEntry,
          })
          s.retries = retry
        }
        samples.push(s)
        const line = s.wrk
          ? `${Math.round(s.wrk.rps)} req/s p50 ${s.wrk.p50.toFixed(2)} ms p99 ${s.wrk.p99.toFixed(2)} ms, peak ${((s.hwmKB ?? 0) / 1024).toFixed(0)} MB`
          : 'no result'
        const cpu =
          s.cpuUsPerRequest === undefined ? '' : `, ${s.cpuUsPerRequest.toFixed(1)} µs CPU/req`
        const foreign =
          cpu + (s.foreignPct === undefined ? '' : `, others on a core ${s.foreignPct.toFixed(0)}%`)
        const ev = s.evidence
          ? `, unwritten ${s.evidence.unwrittenBytes} B, close ${s.evidence.closeMs.toFixed(0)} ms`
          : ''
        const stderr = s.stderr ? `, stderr ${s.stderr.lines} lines / ${s.stderr.requests} req` : ''
        process.stdout.write(
          `[${run}/${runs}] round ${round + 1} ${route} ${name}: ${line}${ev}${stderr}${foreign}${s.problems.length ? `\n    ${s.problems.join('\n    ')}` : ''}\n`,
        )
        await sleep(500)
      }
    }
  }
  finish(samples, routes, contenders, out, started)
}

interface MeasureOptions {
  out: string
  pinned: boolean
  durationS: number
  warmupS: number
  connections: number
  cpuProf: boolean
  faultlineEntry: string | undefined
}

async function measure(
  name: string,
  route: string,
  round: number,
  retry: number,
  o: MeasureOptions,
): Promise<Sample> {
  const sample: Sample = { contender: name, route, round, problems: [] }
  // a fresh folder for every attempt: log files are appended to, and the evidence counts one attempt's lines
  const dir = join(
    o.out,
    `${name}${route.replace(/\//g, '_')}-r${round + 1}${retry ? `-retry${retry}` : ''}`,
  )
  let running
  try {
    running = await startContender(findContender(name), {
      dir,
      ...(o.pinned ? { cpu: 1 } : {}),
      cpuProf: o.cpuProf,
      ...(o.faultlineEntry ? { faultlineEntry: o.faultlineEntry } : {}),
    })
    sample.readyRssKB = running.readyRssKB
    const url = `http://127.0.0.1:${running.port}${route}`
    const wrkCpu = o.pinned ? { cpu: 0 } : {}
    await runWrk(url, { durationS: o.warmupS, connections: o.connections, ...wrkCpu })
    // other processes on either core steal from the server or from wrk: measured, so a disturbed sample can be told apart
    const before = {
      core0: coreBusyTicks(0),
      core1: coreBusyTicks(1),
      server: processTicks(running.pid),
      at: performance.now(),
    }
    sample.wrk = await runWrk(url, {
      durationS: o.durationS,
      connections: o.connections,
      ...wrkCpu,
    })
    // the server's own CPU per request: steadier than requests/s on a shared machine, where others take turns on its core
    const serverTicks = processTicks(running.pid) - before.server
    if (Number.isFinite(serverTicks) && sample.wrk.requests > 0)
      sample.cpuUsPerRequest = (serverTicks * 10_000) / sample.wrk.requests
    if (o.pinned) {
      // /proc counts in USER_HZ ticks, 100 per second on Linux
      const ticks = ((performance.now() - before.at) / 1000) * 100
      const onServerCore =
        coreBusyTicks(1) - before.core1 - (processTicks(running.pid) - before.server)
      const onWrkCore = coreBusyTicks(0) - before.core0 - sample.wrk.wrkTicks
      sample.foreignPct = Math.max(
        0,
        (Math.max(onServerCore, Number.isFinite(onWrkCore) ? onWrkCore : 0) / ticks) * 100,
      )
    }
    // the peak while under load; reading it before the stop keeps the evidence count out of it
    sample.hwmKB = procStatusKB(running.pid, 'VmHWM')
    sample.evidence = await running.stop(60_000)
    sample.stderr = {
      lines: countFileLines(join(dir, 'stderr.log')),
      requests: Object.values(sample.evidence.requests).reduce((sum, n) => sum + n, 0),
    }
    // a few requests in flight when wrk stops may be cut off: allow one per connection, twice over
    sample.problems.push(...judge(name, sample.evidence, 2 * o.connections))
    const wrongStatus =
      route === '/ok' ? sample.wrk.non2xx : sample.wrk.requests - sample.wrk.non2xx
    if (wrongStatus > 0)
      sample.problems.push(`${name} ${route}: ${wrongStatus} answers with the wrong status class`)
    if (sample.wrk.socketErrors > 0)
      sample.problems.push(`${name} ${route}: ${sample.wrk.socketErrors} socket errors`)
  } catch (err) {
    running?.kill()
    sample.problems.push(`${name} ${route}: ${err instanceof Error ? err.message : String(err)}`)
  }
  return sample
}

function finish(
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

/** Lines in a file (0 when it cannot be read): a contender's stderr is a file the runner opened for it. */
function countFileLines(path: string): number {
  try {
    const text = readFileSync(path, 'utf8')
    let lines = 0
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++
    return text.length > 0 && !text.endsWith('\n') ? lines + 1 : lines
  } catch {
    return 0
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
