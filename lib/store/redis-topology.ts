import type { RedisCommander } from './redis-store.js'

/** One node a cluster or sentinel client starts its discovery from. */
export interface RedisNode {
  host: string
  port: number
}

/** A Redis Cluster: node-redis's `createCluster` options, `rootNodes` at least. */
export interface ClusterSetting {
  rootNodes: Array<Record<string, unknown>>
  [option: string]: unknown
}

/** A Sentinel-managed primary: node-redis's `createSentinel` options, `name` and `sentinelRootNodes` at least. */
export interface SentinelSetting {
  name: string
  sentinelRootNodes: RedisNode[]
  [option: string]: unknown
}

/** Which of node-redis's three clients the app handed over, told apart by what only each one has. */
export type ClientShape = 'client' | 'cluster' | 'sentinel'

export function shapeOf(client: object): ClientShape {
  const has = (name: string) => typeof (client as Record<string, unknown>)[name] === 'function'
  if (has('getSlotMaster')) return 'cluster'
  if (has('getMasterNode')) return 'sentinel'
  return 'client'
}

/**
 * The hash tag of a key as Redis Cluster reads it: the text between the first `{` and the first `}`
 * after it, when that text is not empty. Keys that share it share a slot; a key without one hashes whole.
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{')
  if (open < 0) return undefined
  const close = key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : undefined
}

interface ClusterClient {
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>
}

interface SentinelClient {
  sendCommand(isReadonly: boolean, args: string[]): Promise<unknown>
}

/**
 * What the store sends its commands through, whatever the client. On a cluster every command goes to
 * the primary that owns the app's slot: every key of the app carries the hash tag of `anchor`, so routing
 * by it is routing by each key, and the scripts that build their keys inside (the record, the list) land
 * on the node that holds them. On a sentinel, to the primary it names now.
 */
export function commanderOf(client: object, anchor: string): RedisCommander {
  const shape = shapeOf(client)
  if (shape === 'cluster') {
    const cluster = client as ClusterClient
    return { sendCommand: (args) => cluster.sendCommand(anchor, false, args) }
  }
  if (shape === 'sentinel') {
    const sentinel = client as SentinelClient
    return { sendCommand: (args) => sentinel.sendCommand(false, args) }
  }
  return client as RedisCommander
}

/** What faultline asks of every client it makes: no offline queue (the failover answers instead), capped backoff. */
export function nodeOptions(timeoutMs: number): Record<string, unknown> {
  return {
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: Math.max(1000, timeoutMs * 4),
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
    },
  }
}

function mergeNode(theirs: unknown, ours: Record<string, unknown>): Record<string, unknown> {
  const given = (theirs ?? {}) as Record<string, unknown>
  const socket = { ...(ours.socket as object), ...(given.socket as object | undefined) }
  return { ...ours, ...given, socket }
}

/** The options for `createCluster`: the app's, over faultline's defaults for every node. */
export function clusterOptions(
  setting: ClusterSetting,
  timeoutMs: number,
): Record<string, unknown> {
  return {
    // a failed-over slot is looked up again a second after its primary stops answering, not five
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
    ...setting,
    defaults: mergeNode(setting.defaults, nodeOptions(timeoutMs)),
  }
}

/** The options for `createSentinel`: the app's, over faultline's defaults for the primary's connections. */
export function sentinelOptions(
  setting: SentinelSetting,
  timeoutMs: number,
): Record<string, unknown> {
  return {
    // a new primary is looked for every second besides the sentinels' own announcement
    scanInterval: 1000,
    ...setting,
    nodeClientOptions: mergeNode(setting.nodeClientOptions, nodeOptions(timeoutMs)),
  }
}
