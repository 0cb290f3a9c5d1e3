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
import { measure } from './lib/measure.js'
import type { Sample } from './lib/report.js'
import { finish } from './lib/results.js'
import { hasWrk } from './lib/wrk.js'
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

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
