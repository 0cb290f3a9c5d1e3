/**
 * Summarises a V8 CPU profile written by `npm run bench -- --cpu-prof NAME`:
 * the functions with the most self time, and the inclusive time of the
 * project's own functions (lib/, transports/) — where a request's time goes.
 *
 *   node --import tsx bench/profile.ts <folder> [--top N] [--match TEXT] [--base <folder>]
 *
 * With `--base` (the same route's profile of bare or bare-noop from the same
 * run), it also prints the CPU time per request of each function in both, and
 * the functions that cost the most extra: what the contender adds to a request.
 * Requests are read from the run's results.json, next to the folders.
 *
 * A folder is searched for its largest .cpuprofile (the main thread; the
 * smaller one is tsx's loader thread). Percentages are of the samples when
 * the process was not idle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface Hotspot {
  name: string
  selfPct: number
  totalPct: number
  /** Samples whose innermost project frame is this function: its own time plus the libraries it calls, counted once. */
  ownPct: number
}

const OWN = /(^|\s)(lib|transports)\//
// a route or Express's router between a sample and a project frame means the time is the app's, not the project's
// (faultline's request handler calls next(): everything the app does runs inside it)
const BOUNDARY = /node_modules\/(router|express)\/|(^|\s)bench\//

function pickFile(path: string): string {
  if (!statSync(path).isDirectory()) return path
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(path, f))
  const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (!largest) throw new Error(`no .cpuprofile in ${path}`)
  return largest
}

function label(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame
  if (!url) return functionName || '(anonymous)'
  const path = url.startsWith('file://') ? new URL(url).pathname : url
  // the built package the bench measures: named by its source's place (lines are the JavaScript's)
  const built = /\/dist\/((?:lib|transports)\/.*)$/.exec(path)
  const file = built ? built[1]! : url.startsWith('file://') ? relative(root, path) : url
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
}

/** Requests the server of a profile folder (`<contender>_<route>-r<round>`) counted, from the run's results.json. */
function requestsOf(folder: string): number {
  const match = /^(.+?)_(.*)-r(\d+)(?:-retry\d+)?$/.exec(basename(folder))
  if (!match) throw new Error(`${folder} is not a bench run folder (<contender>_<route>-r<round>)`)
  const [, contender, route, round] = match
  const results = JSON.parse(readFileSync(join(dirname(folder), 'results.json'), 'utf8')) as {
    samples: Array<{
      contender: string
      route: string
      round: number
      evidence?: { requests: Record<string, number> }
    }>
  }
  const path = `/${route!.replace(/_/g, '/')}`
  const sample = results.samples.find(
    (s) => s.contender === contender && s.route === path && s.round === Number(round) - 1,
  )
  const n = sample?.evidence?.requests[path]
  if (!n) throw new Error(`no request count for ${folder} in results.json`)
  return n
}

/** Self time per function in microseconds per request. */
function selfPerRequest(profile: Profile, root: string, requests: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const out = new Map<string, number>()
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!
    if (node.callFrame.functionName === '(idle)') return
    const key = label(node, process.cwd())
    out.set(key, (out.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / requests)
  })
  return out
}

function compare(folder: string, base: string, top: number): void {
  const read = (f: string) => JSON.parse(readFileSync(pickFile(f), 'utf8')) as Profile
  const mine = selfPerRequest(read(folder), process.cwd(), requestsOf(folder))
  const theirs = selfPerRequest(read(base), process.cwd(), requestsOf(base))
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
  const us = (n: number) => `${n.toFixed(1).padStart(6)} µs`
  process.stdout.write(
    `\nCPU per request (profiler on): ${us(sum(mine)).trim()} here, ${us(sum(theirs)).trim()} in ${basename(base)}\n`,
  )
  process.stdout.write(`biggest extra self time per request (here − base, top ${top}):\n`)
  const names = new Set([...mine.keys(), ...theirs.keys()])
  const deltas = [...names].map((name) => ({
    name,
    delta: (mine.get(name) ?? 0) - (theirs.get(name) ?? 0),
  }))
  for (const d of deltas.sort((a, b) => b.delta - a.delta).slice(0, top))
    process.stdout.write(`  ${us(d.delta)}  ${d.name}\n`)
}

export function summarise(profile: Profile, root: string): Hotspot[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const own = new Map<string, number>()
  let busy = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!
    const weight = profile.timeDeltas[i] ?? 0
    if (node.callFrame.functionName === '(idle)') return
    busy += weight
    const key = label(node, root)
    self.set(key, (self.get(key) ?? 0) + weight)
    // each function once per sample, however deep it recurses
    const seen = new Set<string>()
    let attributed = false
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at)!, root)
      if (!attributed && OWN.test(k)) {
        attributed = true
        own.set(k, (own.get(k) ?? 0) + weight)
      } else if (!attributed && BOUNDARY.test(k)) {
        attributed = true
      }
      if (seen.has(k)) continue
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + weight)
    }
  })
  const pct = (map: Map<string, number>, name: string) => ((map.get(name) ?? 0) / busy) * 100
  return [...total.keys()].map((name) => ({
    name,
    selfPct: pct(self, name),
    totalPct: pct(total, name),
    ownPct: pct(own, name),
  }))
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      match: { type: 'string', default: '' },
      base: { type: 'string' },
    },
  })
  if (!positionals[0]) {
    process.stderr.write(
      'usage: node --import tsx bench/profile.ts <folder> [--top N] [--match TEXT] [--base <folder>]\n',
    )
    process.exit(2)
  }
  const file = pickFile(positionals[0])
  const root = process.cwd()
  const spots = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, root)
  const top = Number(values.top)
  const pct = (n: number) => `${n.toFixed(1).padStart(5)}%`
  process.stdout.write(`${file}\n\nself time (top ${top}):\n`)
  for (const s of [...spots].sort((a, b) => b.selfPct - a.selfPct).slice(0, top))
    process.stdout.write(`  ${pct(s.selfPct)}  ${s.name}\n`)
  const own = spots.filter((s) => OWN.test(s.name) && s.name.includes(values.match!))
  const ownTotal = own.reduce((sum, s) => sum + s.ownPct, 0)
  process.stdout.write(
    `\nattributed to the innermost lib/ or transports/ function, libraries it calls included, up to the app's own frames (${pct(ownTotal).trim()} in all; top ${top}):\n`,
  )
  for (const s of [...own].sort((a, b) => b.ownPct - a.ownPct).slice(0, top))
    process.stdout.write(`  ${pct(s.ownPct)}  ${s.name}\n`)
  process.stdout.write(`\ninclusive time of lib/ and transports/ (top ${top}):\n`)
  for (const s of own.sort((a, b) => b.totalPct - a.totalPct).slice(0, top))
    process.stdout.write(`  ${pct(s.totalPct)} (self ${pct(s.selfPct).trim()})  ${s.name}\n`)
  if (values.base) compare(positionals[0], values.base, top)
}

if (import.meta.url === `file://${process.argv[1]}`) main()
