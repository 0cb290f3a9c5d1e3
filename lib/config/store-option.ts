import { describeValue as describe, parseSettingUrl } from './option-checks.js'
import { nodeRequire } from '../node-require.cjs'
import { FaultlineConfigError } from './config-error.js'
import { DEFAULT_TIMEOUT_MS, type StoreSetting } from '../store/open-store.js'

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

function checkUrl(value: string, field: string): { url: string; target: string } {
  const url = parseSettingUrl(field, value, ['redis:', 'rediss:'], { path: 'any' })
  if (url.pathname.length > 1 && !/^\/\d{1,2}$/.test(url.pathname))
    fail(field, 'a URL whose path is a database number (/0 to /15)', url.pathname)
  requireRedisPackage()
  return { url: value, target: targetOf(url) }
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

/**
 * Checks the `store` option: `'local'` (the default), a `redis://` or
 * `rediss://` URL, or `{ url | redis, prefix, timeoutMs }`.
 */
export function checkStore(value: unknown): StoreSetting {
  if (value === undefined || value === 'local') return { kind: 'local' }
  if (typeof value === 'string')
    return { kind: 'url', ...checkUrl(value, 'store'), timeoutMs: DEFAULT_TIMEOUT_MS }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return fail('store', "'local', a redis:// URL, or { url } or { redis: client }", value)
  const setting = value as Record<string, unknown>
  for (const key of Object.keys(setting))
    if (!['url', 'redis', 'prefix', 'timeoutMs'].includes(key))
      fail(`store.${key}`, 'one of url, redis, prefix, timeoutMs (an unknown field)', key)
  const timeoutMs = checkTimeout(setting.timeoutMs)
  const prefix = checkPrefix(setting.prefix)
  if (setting.redis !== undefined) {
    const client = setting.redis as { sendCommand?: unknown } | null
    if (typeof client?.sendCommand !== 'function')
      fail('store.redis', 'a node-redis client (an object with sendCommand)', setting.redis)
    return { kind: 'client', client: client as never, ...prefix, timeoutMs }
  }
  if (typeof setting.url !== 'string') return fail('store.url', 'a redis:// URL', setting.url)
  return { kind: 'url', ...checkUrl(setting.url, 'store.url'), ...prefix, timeoutMs }
}
