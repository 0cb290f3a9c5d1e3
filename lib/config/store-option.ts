import { describeValue as describe, parseSettingUrl } from './option-checks.js'
import { nodeRequire } from '../node-require.cjs'
import { FaultlineConfigError } from './config-error.js'
import { DEFAULT_TIMEOUT_MS, type StoreSetting } from '../store/open-store.js'
import { hashTagOf, shapeOf } from '../store/redis-topology.js'
import {
  checkCluster,
  checkSentinel,
  isTopologyUrl,
  parseTopologyUrl,
  targetOfTopology,
} from './store-topology-option.js'

function fail(field: string, expected: string, got: unknown): never {
  throw new FaultlineConfigError(
    field,
    `faultline: option "${field}" must be ${expected}; got ${describe(got)}`,
  )
}

/** The URL as lines may show it: without its password. */
function targetOf(url: URL): string {
  return `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname.length > 1 ? url.pathname : ''}`
}

// the client is an optional peer: only a fleet needs it, and it should fail at start-up, not at the first error
function requireRedisPackage(): void {
  try {
    nodeRequire.resolve('redis')
  } catch {
    throw new FaultlineConfigError(
      'store',
      'faultline: option "store" names a Redis server, which needs the "redis" package (node-redis): npm install redis',
    )
  }
}

function checkUrl(
  value: string,
  field: string,
): Extract<StoreSetting, { kind: 'url' | 'cluster' | 'sentinel' }> & { timeoutMs: number } {
  if (isTopologyUrl(value)) {
    const parsed = parseTopologyUrl(field, value)
    requireRedisPackage()
    return { ...parsed, timeoutMs: DEFAULT_TIMEOUT_MS }
  }
  const url = parseSettingUrl(field, value, ['redis:', 'rediss:'], { path: 'any' })
  if (url.pathname.length > 1 && !/^\/\d{1,2}$/.test(url.pathname))
    fail(field, 'a URL whose path is a database number (/0 to /15)', url.pathname)
  requireRedisPackage()
  return { kind: 'url', url: value, target: targetOf(url), timeoutMs: DEFAULT_TIMEOUT_MS }
}

/**
 * On a cluster every key of the app must hash to one slot (scripts touch several at once, a CROSSSLOT
 * error otherwise): a prefix of its own must carry a hash tag, which the keys after it cannot change.
 */
function checkSlotted(setting: StoreSetting): StoreSetting {
  const clustered =
    setting.kind === 'cluster' ||
    (setting.kind === 'client' && shapeOf(setting.client) === 'cluster')
  if (clustered && setting.prefix !== undefined && hashTagOf(setting.prefix) === undefined)
    fail(
      'store.prefix',
      'a prefix with a hash tag on a Redis Cluster, such as "faultline:{shop}:"',
      setting.prefix,
    )
  return setting
}

function checkTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 10 || value > 60_000)
    fail('store.timeoutMs', 'a number of milliseconds from 10 to 60000', value)
  return value
}

function checkPrefix(value: unknown): { prefix?: string } {
  if (value === undefined) return {}
  if (typeof value !== 'string' || !/^[\w:{}.@/-]{1,100}$/.test(value))
    fail('store.prefix', 'a key prefix of 1 to 100 letters, digits and : { } . @ / - _', value)
  return { prefix: value }
}

const FIELDS = ['url', 'redis', 'cluster', 'sentinel', 'prefix', 'timeoutMs']

/**
 * Checks the `store` option: `'local'` (the default), a `redis://`, `rediss://`, `redis+cluster://` or
 * `redis+sentinel://` URL, or `{ url | redis | cluster | sentinel, prefix, timeoutMs }`.
 */
export function checkStore(value: unknown): StoreSetting {
  if (value === undefined || value === 'local') return { kind: 'local' }
  if (typeof value === 'string') return checkUrl(value, 'store')
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return fail(
      'store',
      "'local', a redis:// URL, or { url }, { cluster }, { sentinel } or { redis: client }",
      value,
    )
  const setting = value as Record<string, unknown>
  for (const key of Object.keys(setting))
    if (!FIELDS.includes(key))
      fail(`store.${key}`, `one of ${FIELDS.join(', ')} (an unknown field)`, key)
  const where = FIELDS.slice(0, 4).filter((key) => setting[key] !== undefined)
  if (where.length > 1) fail('store', 'one of url, redis, cluster or sentinel, not several', where)
  const shared = { ...checkPrefix(setting.prefix), timeoutMs: checkTimeout(setting.timeoutMs) }
  if (setting.redis !== undefined) {
    const client = setting.redis as { sendCommand?: unknown } | null
    if (typeof client?.sendCommand !== 'function')
      fail(
        'store.redis',
        'a node-redis client, cluster or sentinel (with sendCommand)',
        setting.redis,
      )
    return checkSlotted({ kind: 'client', client: client as object, ...shared })
  }
  if (setting.cluster !== undefined) {
    const cluster = checkCluster(setting.cluster)
    requireRedisPackage()
    const target = targetOfTopology('cluster', cluster)
    return checkSlotted({ kind: 'cluster', cluster, target, ...shared })
  }
  if (setting.sentinel !== undefined) {
    const sentinel = checkSentinel(setting.sentinel)
    requireRedisPackage()
    return { kind: 'sentinel', sentinel, target: targetOfTopology('sentinel', sentinel), ...shared }
  }
  if (typeof setting.url !== 'string') return fail('store.url', 'a redis:// URL', setting.url)
  return checkSlotted({ ...checkUrl(setting.url, 'store.url'), ...shared })
}
