import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall, outputTail, runCommand } from './apt.js'
import { getFreePort } from './ports.js'
import { ensureRedisServer } from './redis.js'

const SENTINEL = '/usr/bin/redis-sentinel'
const CLI = '/usr/bin/redis-cli'
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Installs Debian's redis-sentinel when it is missing; fails naming the package when that is impossible. */
async function ensureSentinel(): Promise<string> {
  await ensureRedisServer()
  if (existsSync(SENTINEL)) return SENTINEL
  const result = await aptInstall(['redis-sentinel'], Date.now() + 180_000)
  if (!existsSync(SENTINEL))
    throw new Error(
      `the Sentinel tests need Debian's redis-sentinel package (apt-get install redis-sentinel); installing it failed: ${outputTail(result)}`,
    )
  return SENTINEL
}

/** redis-cli against one local node; rejects with its output when it fails. */
export async function cli(port: number, ...args: string[]): Promise<string> {
  const result = await runCommand(CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], 30_000)
  if (!result.ok || result.output.startsWith('ERR'))
    throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${result.output}`)
  return result.output
}

async function answers(port: number): Promise<boolean> {
  const result = await runCommand(CLI, ['-h', '127.0.0.1', '-p', String(port), 'PING'], 2000)
  return result.ok && result.output.includes('PONG')
}

/** One private server process: started with its arguments, killed by PID. */
interface Node {
  port: number
  child: ChildProcess
}

async function launch(binary: string, port: number, args: string[]): Promise<Node> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let errors = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk))
  const deadline = Date.now() + 10_000
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`${binary} did not start on 127.0.0.1:${port}: ${errors.slice(-400)}`)
    await sleep(50)
  }
  return { port, child }
}

function kill(node: Node): Promise<void> {
  const { child } = node
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

/** Ports for `count` servers, each distinct, with a cluster bus port beside each. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = []
  while (ports.length < count) ports.push(await getFreePort('tcp', ports))
  return ports
}

// a replica syncs at once, not after the 5 s a primary waits for more replicas to share one transfer
const BASE = [
  ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
  ...['--repl-diskless-sync-delay', '0'],
]

/** Waits until every replica among `ports` holds its primary's data (its link up): only then can it take over. */
async function waitForReplicas(ports: number[], deadline: number): Promise<void> {
  for (const port of ports)
    for (;;) {
      const info = await cli(port, 'INFO', 'replication')
      if (info.includes('role:master') || info.includes('master_link_status:up')) break
      if (Date.now() > deadline) throw new Error(`the replica on ${port} never synced`)
      await sleep(100)
    }
}

/** Topologies share this: their nodes, stopped by PID at the end (or at exit), their directory removed. */
class Fleet {
  readonly nodes: Node[] = []
  readonly dir = mkdtempSync(join(tmpdir(), 'faultline-redis-topology-'))
  readonly #reap = () => this.nodes.forEach((n) => n.child.kill('SIGKILL'))
  constructor() {
    process.once('exit', this.#reap)
  }
  async start(binary: string, port: number, args: string[]): Promise<Node> {
    const node = await launch(binary, port, args)
    this.nodes.push(node)
    return node
  }
  async stop(): Promise<void> {
    process.off('exit', this.#reap)
    await Promise.all(this.nodes.map(kill))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A 3-primary / 3-replica Redis Cluster on loopback. */
export interface RedisCluster {
  ports: number[]
  url: string
  /** Kills the primary that serves `key`'s slot; resolves with its port. */
  killPrimaryOf(key: string): Promise<number>
  /** Waits until a live primary serves `key`'s slot again and the cluster says ok; resolves with its port. */
  waitForPrimaryOf(key: string, timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

/** The primary serving `slot` according to a node's CLUSTER NODES, skipping those marked failed. */
function primaryIn(nodes: string, slot: number): number | undefined {
  for (const line of nodes.trim().split('\n')) {
    const [, address = '', flags = '', , , , , , ...slots] = line.split(' ')
    if (!flags.includes('master') || flags.includes('fail')) continue
    const serves = slots.some((range) => {
      const [from, to = from] = range.split('-').map(Number)
      return slot >= from! && slot <= to!
    })
    if (serves) return Number(address.split('@')[0]!.split(':')[1])
  }
  return undefined
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const binary = await ensureRedisServer()
  const fleet = new Fleet()
  const all = await freePorts(12)
  const ports = all.slice(0, 6)
  try {
    await Promise.all(
      ports.map((port, i) => {
        // each node its own directory: replicas sync through files of the same names
        const dir = join(fleet.dir, String(port))
        mkdirSync(dir)
        return fleet.start(binary, port, [
          ...BASE,
          '--port',
          String(port),
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(all[6 + i]),
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          '1000',
          // a replica takes over however long ago it last heard its primary: the test kills it at any moment
          '--cluster-replica-validity-factor',
          '0',
          '--dir',
          dir,
        ])
      }),
    )
    const nodes = ports.map((p) => `127.0.0.1:${p}`)
    await cli(
      ports[0]!,
      '--cluster',
      'create',
      ...nodes,
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    )
    const deadline = Date.now() + 30_000
    for (const port of ports)
      while (!(await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the cluster on ${port} never said ok`)
        await sleep(100)
      }
    await waitForReplicas(ports, deadline)
  } catch (err) {
    await fleet.stop()
    throw err
  }
  const alive = () => fleet.nodes.filter((n) => n.child.exitCode === null && !n.child.signalCode)
  const slotOf = async (key: string) =>
    Number(await cli(alive()[0]!.port, 'CLUSTER', 'KEYSLOT', key))
  return {
    ports,
    url: `redis+cluster://${ports
      .slice(0, 3)
      .map((p) => `127.0.0.1:${p}`)
      .join(',')}`,
    async killPrimaryOf(key) {
      const slot = await slotOf(key)
      const port = primaryIn(await cli(alive()[0]!.port, 'CLUSTER', 'NODES'), slot)
      await kill(fleet.nodes.find((n) => n.port === port)!)
      return port!
    },
    async waitForPrimaryOf(key, timeoutMs = 30_000) {
      const slot = await slotOf(key)
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const port = alive()[0]!.port
        const found = primaryIn(await cli(port, 'CLUSTER', 'NODES'), slot)
        const ok = (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')
        if (found && ok && alive().some((n) => n.port === found)) return found
        if (Date.now() > deadline) throw new Error(`no primary took slot ${slot} over`)
        await sleep(100)
      }
    },
    stop: () => fleet.stop(),
  }
}

/** A primary, its replica and 3 sentinels watching them as `name`, on loopback. */
export interface RedisSentinels {
  name: string
  url: string
  sentinelPorts: number[]
  /** Kills the primary the sentinels name now; resolves with its port. */
  killPrimary(): Promise<number>
  /** Waits until the sentinels name a live primary other than `dead`; resolves with its port. */
  waitForElection(dead: number, timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

export async function startRedisSentinels(name = 'faultline'): Promise<RedisSentinels> {
  const server = await ensureRedisServer()
  const sentinel = await ensureSentinel()
  const fleet = new Fleet()
  const [primary, replica, ...sentinelPorts] = await freePorts(5)
  const data = (port: number) => [...BASE, '--port', String(port), '--dir', fleet.dir]
  try {
    await fleet.start(server, primary!, data(primary!))
    await fleet.start(server, replica!, [
      ...data(replica!),
      '--replicaof',
      '127.0.0.1',
      String(primary),
    ])
    for (const port of sentinelPorts) {
      // a sentinel rewrites its configuration file: each has its own
      const file = join(fleet.dir, `sentinel-${port}.conf`)
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${fleet.dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      )
      await fleet.start(sentinel, port, [file])
    }
    await waitForReplicas([replica!], Date.now() + 30_000)
  } catch (err) {
    await fleet.stop()
    throw err
  }
  const named = async () => {
    for (const port of sentinelPorts) {
      const reply = await cli(port, 'SENTINEL', 'get-master-addr-by-name', name).catch(() => '')
      const found = Number(reply.trim().split('\n')[1])
      if (found) return found
    }
    return undefined
  }
  return {
    name,
    sentinelPorts,
    url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
    async killPrimary() {
      const port = (await named())!
      await kill(fleet.nodes.find((n) => n.port === port)!)
      return port
    },
    async waitForElection(dead, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const port = await named()
        if (port && port !== dead && (await answers(port))) {
          const role = await cli(port, 'ROLE')
          if (role.startsWith('master')) return port
        }
        if (Date.now() > deadline) throw new Error(`the sentinels elected no primary after ${dead}`)
        await sleep(100)
      }
    },
    stop: () => fleet.stop(),
  }
}
