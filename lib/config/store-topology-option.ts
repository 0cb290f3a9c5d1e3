import { describeValue as describe } from './option-checks.js'
import { FaultlineConfigError } from './config-error.js'
import type { ClusterSetting, RedisNode, SentinelSetting } from '../store/redis-topology.js'

function fail(field: string, expected: string, got: unknown): never {
  throw new FaultlineConfigError(
    field,
    `faultline: option "${field}" must be ${expected}; got ${describe(got)}`,
  )
}

const TOPOLOGY_URL = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/?#]*)@)?([^/?#@]+)(\/[^?#]*)?$/

/** Whether a setting is one of the URL forms this file reads. */
export function isTopologyUrl(value: string): boolean {
  return /^rediss?\+(cluster|sentinel):/i.test(value)
}

function nodeOf(field: string, text: string, defaultPort: number, got: string): RedisNode {
  const match = /^(\[[0-9a-f:.]+\]|[\w.-]+)(?::(\d{1,5}))?$/i.exec(text)
  const port = match?.[2] === undefined ? defaultPort : Number(match[2])
  if (!match || port < 1 || port > 65535)
    fail(field, 'a list of host:port nodes (port 1 to 65535), separated by commas', got)
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

function credentialsOf(field: string, userinfo: string | undefined, got: string) {
  if (userinfo === undefined) return {}
  const [user = '', ...rest] = userinfo.split(':')
  try {
    const password = rest.length ? decodeURIComponent(rest.join(':')) : undefined
    return {
      ...(user ? { username: decodeURIComponent(user) } : {}),
      ...(password !== undefined ? { password } : {}),
    }
  } catch {
    return fail(field, 'a URL whose credentials are percent-encoded', got)
  }
}

/** The parsed URL, and how lines may show it: every node, no credentials. */
export type TopologyFromUrl =
  | { kind: 'cluster'; cluster: ClusterSetting; target: string }
  | { kind: 'sentinel'; sentinel: SentinelSetting; target: string }

/**
 * Reads `redis+cluster://[user:pass@]host:port,host:port` and
 * `redis+sentinel://[user:pass@]host:port,host:port/primaryname` (`rediss+…` for TLS to the data nodes).
 */
export function parseTopologyUrl(field: string, value: string): TopologyFromUrl {
  const got = value
  const match = TOPOLOGY_URL.exec(value)
  if (!match)
    return fail(
      field,
      'redis+cluster://host:port,host:port or redis+sentinel://host:port,host:port/name',
      got,
    )
  const [, scheme, kind, userinfo, hosts, path = ''] = match
  const sentinel = kind === 'sentinel'
  const nodes = hosts!.split(',').map((h) => nodeOf(field, h, sentinel ? 26379 : 6379, got))
  if (nodes.length > 64) fail(field, 'a list of at most 64 nodes', got)
  const auth = credentialsOf(field, userinfo, got)
  const node = { ...auth, ...(scheme === 'rediss' ? { socket: { tls: true } } : {}) }
  const listed = nodes.map((n) => (n.host.includes(':') ? `[${n.host}]` : n.host) + `:${n.port}`)
  const target = `${scheme}+${kind}://${listed.join(',')}${path.length > 1 ? path : ''}`
  if (!sentinel) {
    if (path !== '' && path !== '/' && path !== '/0')
      fail(field, 'a cluster URL without a database (a cluster has only database 0)', got)
    const rootNodes = nodes.map((n) => ({ socket: { host: n.host, port: n.port } }))
    return { kind: 'cluster', cluster: { rootNodes, defaults: node }, target }
  }
  const name = path.slice(1)
  if (!/^[\w.-]{1,100}$/.test(name))
    fail(field, 'a sentinel URL ending in the primary’s name (/mymaster)', got)
  return {
    kind: 'sentinel',
    sentinel: { name, sentinelRootNodes: nodes, nodeClientOptions: node },
    target,
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

/** Checks `{ rootNodes: [...] , ...createCluster options }`. */
export function checkCluster(value: unknown): ClusterSetting {
  if (!isRecord(value) || !Array.isArray(value.rootNodes) || value.rootNodes.length === 0)
    return fail('store.cluster', 'createCluster options with rootNodes: [{ url }, …]', value)
  for (const node of value.rootNodes)
    if (!isRecord(node) || (typeof node.url !== 'string' && !isRecord(node.socket)))
      fail('store.cluster.rootNodes', 'a list of { url } or { socket: { host, port } }', node)
  return value as ClusterSetting
}

/** Checks `{ name, sentinelRootNodes: [{ host, port }], ...createSentinel options }`. */
export function checkSentinel(value: unknown): SentinelSetting {
  if (!isRecord(value) || typeof value.name !== 'string' || !/^[\w.-]{1,100}$/.test(value.name))
    return fail('store.sentinel.name', 'the name the sentinels know the primary by', value)
  const nodes = value.sentinelRootNodes
  if (!Array.isArray(nodes) || nodes.length === 0)
    fail('store.sentinel.sentinelRootNodes', 'a list of { host, port }', nodes)
  for (const node of nodes as unknown[]) {
    const ok =
      isRecord(node) &&
      typeof node.host === 'string' &&
      node.host !== '' &&
      Number.isInteger(node.port) &&
      (node.port as number) >= 1 &&
      (node.port as number) <= 65535
    if (!ok) fail('store.sentinel.sentinelRootNodes', 'a list of { host, port }', node)
  }
  return value as unknown as SentinelSetting
}

function hostOfUrl(text: string): string {
  try {
    const url = new URL(text)
    return `${url.hostname}:${url.port || 6379}`
  } catch {
    return '?'
  }
}

/** Where lines say an object-form cluster or sentinel is (its root nodes, never its credentials). */
export function targetOfTopology(
  kind: 'cluster' | 'sentinel',
  setting: ClusterSetting | SentinelSetting,
): string {
  if (kind === 'sentinel') {
    const s = setting as SentinelSetting
    const nodes = s.sentinelRootNodes.map((n) => `${n.host}:${n.port}`)
    return `redis+sentinel://${nodes.join(',')}/${s.name}`
  }
  const nodes = (setting as ClusterSetting).rootNodes.map((n) => {
    if (typeof n.url === 'string') return hostOfUrl(n.url)
    const socket = n.socket as { host?: unknown; port?: unknown }
    return `${String(socket.host ?? 'localhost')}:${String(socket.port ?? 6379)}`
  })
  return `redis+cluster://${nodes.join(',')}`
}
