/**
 * What bench/fleet-ceiling.ts reads around each step: Redis's CPU from
 * /proc, the counts Redis holds (through the store's own read path), the
 * request latency of a real app process, and on a cluster which primary
 * serves an app's slot.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createClient, createCluster } from 'redis'
import { RedisStore } from '../../lib/store/redis-store.js'
import { STORE_LIMITS } from '../../lib/store/open-store.js'
import { commanderOf } from '../../lib/store/redis-topology.js'
import { cli } from '../../test/support/redis-cluster.js'
import { FINGERPRINT_PREFIX } from './ceiling-reports.js'

const TICKS = 100 // USER_HZ on Linux

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
}

/** CPU seconds a process has used so far (user and system), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name, in parentheses, may hold spaces: count fields after it
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS
}

/**
 * Seconds a process's main thread has waited for a core while runnable, from
 * /proc/<pid>/schedstat: on a shared machine, the CPU it wanted and did not get.
 */
export function waitSeconds(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9
}

/** The PIDs of the redis-server processes listening on `ports`: each names its address in its process title. */
export function redisPids(ports: number[]): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let title: string
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      continue // gone meanwhile
    }
    const port = /^\S*redis-server\s+127\.0\.0\.1:(\d+)/.exec(title)?.[1]
    if (port && ports.includes(Number(port))) pids.push(Number(entry))
  }
  return pids
}

/**
 * Empties every node and zeroes its command statistics, so each step starts
 * from the same Redis; a replica refuses the flush, its primary's reaches it.
 */
export async function flushAll(ports: number[]): Promise<void> {
  await Promise.all(ports.map((port) => cli(port, 'FLUSHALL').catch(() => '')))
  await Promise.all(ports.map((port) => cli(port, 'CONFIG', 'RESETSTAT')))
}

/** The ports among `ports` that serve as primaries (all of them for a lone server). */
export async function primariesAmong(ports: number[]): Promise<number[]> {
  const roles = await Promise.all(ports.map((port) => cli(port, 'ROLE')))
  return ports.filter((_, i) => roles[i]!.startsWith('master'))
}

/**
 * Seconds the primaries spent running commands since the statistics were
 * zeroed (INFO commandstats): Redis's own busy time, which the machine's
 * other load does not stretch the way it stretches CPU time and latency.
 */
export async function commandSeconds(primaries: number[]): Promise<number> {
  let micros = 0
  for (const port of primaries)
    for (const m of (await cli(port, 'INFO', 'commandstats')).matchAll(/usec=(\d+)/g))
      micros += Number(m[1])
  return micros / 1e6
}

/** Reads the fleet's counts back from Redis, per app, as the incident view would. */
export async function openReadBack(url: string, cluster: boolean) {
  const client = cluster
    ? createCluster({
        rootNodes: url
          .replace('redis+cluster://', '')
          .split(',')
          .map((node) => ({ url: `redis://${node}` })),
      })
    : createClient({ url })
  await client.connect()
  return {
    /** Reports of the bench's own fingerprints Redis counted for `app`. */
    async counted(app: string): Promise<number> {
      const prefix = `faultline:{${app}}:`
      const store = new RedisStore(commanderOf(client, `${prefix}last`), {
        prefix,
        limits: STORE_LIMITS,
      })
      const { issues } = await store.issues({ limit: 500 })
      return issues
        .filter((i) => i.fingerprint.startsWith(FINGERPRINT_PREFIX))
        .reduce((sum, i) => sum + i.count, 0)
    },
    close: () => client.destroy(),
  }
}

/** The port of the primary that serves `app`'s slot (its keys' hash tag). */
export async function primaryOf(anyPort: number, app: string): Promise<number> {
  const slot = Number(await cli(anyPort, 'CLUSTER', 'KEYSLOT', app))
  for (const line of (await cli(anyPort, 'CLUSTER', 'NODES')).trim().split('\n')) {
    const [, address = '', flags = '', , , , , , ...slots] = line.split(' ')
    if (!flags.includes('master')) continue
    for (const range of slots) {
      const [from, to = from] = range.split('-').map(Number)
      if (slot >= from! && slot <= to!) return Number(address.split('@')[0]!.split(':')[1])
    }
  }
  throw new Error(`no primary serves slot ${slot}`)
}

/** `count` app names, `fleet` first, each served by a different primary while there are primaries left. */
export async function appsOnDistinctPrimaries(anyPort: number, count: number): Promise<string[]> {
  const apps = ['fleet']
  const used = new Set([await primaryOf(anyPort, 'fleet')])
  for (let i = 1; apps.length < count && i < 200; i++) {
    const primary = await primaryOf(anyPort, `shop${i}`)
    if (used.has(primary) && used.size < 3) continue
    used.add(primary)
    apps.push(`shop${i}`)
  }
  return apps
}

/**
 * GET `/boom/A` on the app process at a fixed rate (open loop) until `stop`
 * resolves: every latency in ms, and how many failed.
 */
export async function probe(
  port: number,
  perSecond: number,
  stop: Promise<unknown>,
): Promise<{ times: number[]; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const times: number[] = []
  let failed = 0
  const inFlight = new Set<Promise<void>>()
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now()
      const req = request({ host: '127.0.0.1', port, path: '/boom/A', agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(void times.push(performance.now() - started)))
      })
      req.setTimeout(10_000, () => req.destroy())
      req.on('error', () => resolve(void failed++))
      req.end()
    })
  const timer = setInterval(() => {
    const sent = one()
    inFlight.add(sent)
    void sent.finally(() => inFlight.delete(sent))
  }, 1000 / perSecond)
  await stop
  clearInterval(timer)
  await Promise.all([...inFlight])
  agent.destroy()
  return { times, failed }
}
