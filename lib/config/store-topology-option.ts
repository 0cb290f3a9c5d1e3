import { describeValue as describe, parseSettingUrl } from './option-checks.js'
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

/**
 * A bad part of a cluster or sentinel setting as a message may show it: an object by its keys alone,
 * since node-redis's options beside them may hold a password (`password`, `defaults.password`).
 */
function shown(value: unknown): string {
  if (isRecord(value)) return `{ ${Object.keys(value).join(', ')} } (object)`
  if (Array.isArray(value)) return `an array of ${value.length}`
  return describe(value)
}

function refuse(field: string, expected: string, got: unknown): never {
  throw new FaultlineConfigError(
    field,
    `faultline: option "${field}" must be ${expected}; got ${shown(got)}`,
  )
}

const MAX_NODES = 64

function checkNodeList(field: string, value: unknown, expected: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0)
    return refuse(field, `a list of at least one ${expected}`, value)
  if (value.length > MAX_NODES) refuse(field, `a list of at most ${MAX_NODES} nodes`, value)
  return value
}

function checkHostPort(field: string, node: Record<string, unknown>): void {
  if (node.host !== undefined && (typeof node.host !== 'string' || node.host === ''))
    refuse(`${field}.host`, 'a host name or address', node.host)
  const port = node.port
  if (
    port !== undefined &&
    (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)
  )
    refuse(`${field}.port`, 'a port number from 1 to 65535', port)
}

/**
 * node-redis client options, passed on as they are but for the socket faultline adds its own defaults
 * to: only what faultline reads is checked, the object's type and where its socket points.
 */
function checkClientOptions(field: string, value: unknown): void {
  if (value === undefined) return
  if (!isRecord(value)) refuse(field, 'an object of node-redis client options', value)
  if (value.socket === undefined) return
  if (!isRecord(value.socket))
    refuse(`${field}.socket`, 'an object of socket options', value.socket)
  checkHostPort(`${field}.socket`, value.socket)
  if (
    value.socket.path !== undefined &&
    (typeof value.socket.path !== 'string' || value.socket.path === '')
  )
    refuse(`${field}.socket.path`, 'the path of a Unix socket', value.socket.path)
}

/** A cluster's root node: client options, of which faultline needs where the node is (`url` or `socket`). */
function checkRootNode(field: string, node: unknown): void {
  const expected = "{ url: 'redis://host:port' } or { socket: { host, port } }"
  if (!isRecord(node)) return refuse(field, expected, node)
  checkClientOptions(field, node)
  if (node.url !== undefined) {
    if (typeof node.url !== 'string') refuse(`${field}.url`, 'a redis:// URL', node.url)
    const url = parseSettingUrl(`${field}.url`, node.url, ['redis:', 'rediss:'], { path: 'any' })
    if (url.pathname.length > 1 && url.pathname !== '/0')
      refuse(
        `${field}.url`,
        'a URL without a database (a cluster has only database 0)',
        url.pathname,
      )
    return
  }
  const socket = node.socket
  if (!isRecord(socket) || ['host', 'port', 'path'].every((key) => socket[key] === undefined))
    refuse(field, expected, node)
}

/**
 * Checks `{ rootNodes: [...], ...createCluster options }`. Beside `rootNodes` and `defaults`, which
 * faultline reads, every key is a `createCluster` option passed to node-redis as is (docs/fleet.md):
 * none is refused, so a newer node-redis's options work.
 */
export function checkCluster(value: unknown): ClusterSetting {
  if (!isRecord(value))
    return refuse('store.cluster', 'createCluster options with rootNodes: [{ url }, …]', value)
  const nodes = checkNodeList('store.cluster.rootNodes', value.rootNodes, '{ url } or { socket }')
  nodes.forEach((node, i) => checkRootNode(`store.cluster.rootNodes[${i}]`, node))
  checkClientOptions('store.cluster.defaults', value.defaults)
  return value as ClusterSetting
}

/**
 * Checks `{ name, sentinelRootNodes: [{ host, port }], ...createSentinel options }`. Beside those and
 * the client options faultline adds its defaults to, every key is a `createSentinel` option passed to
 * node-redis as is (docs/fleet.md): none is refused.
 */
export function checkSentinel(value: unknown): SentinelSetting {
  if (!isRecord(value))
    return refuse(
      'store.sentinel',
      'createSentinel options { name, sentinelRootNodes: [{ host, port }] }',
      value,
    )
  if (typeof value.name !== 'string' || !/^[\w.-]{1,100}$/.test(value.name))
    refuse('store.sentinel.name', 'the name the sentinels know the primary by', value.name)
  const field = 'store.sentinel.sentinelRootNodes'
  checkNodeList(field, value.sentinelRootNodes, '{ host, port }').forEach((node, i) => {
    if (!isRecord(node) || node.host === undefined || node.port === undefined)
      refuse(`${field}[${i}]`, '{ host, port }', node)
    checkHostPort(`${field}[${i}]`, node)
  })
  checkClientOptions('store.sentinel.nodeClientOptions', value.nodeClientOptions)
  checkClientOptions('store.sentinel.sentinelClientOptions', value.sentinelClientOptions)
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
    const socket = n.socket as { host?: unknown; port?: unknown; path?: unknown }
    if (typeof socket.path === 'string') return socket.path
    return `${String(socket.host ?? 'localhost')}:${String(socket.port ?? 6379)}`
  })
  return `redis+cluster://${nodes.join(',')}`
}
