import { expect } from 'chai'
import { createFaultline, FaultlineConfigError } from '../../lib/index.js'
import { STORE_LIMITS } from '../../lib/store/open-store.js'
import { RedisStore, type RedisStoreLimits } from '../../lib/store/redis-store.js'
import { commanderOf } from '../../lib/store/redis-topology.js'
import { describeCoordination } from './coordination-suite.js'
import { describeIncidentStore, describeIncidentStoreBounds } from './incident-store-suite.js'

/** Opens a RedisStore for an app: by default one of its own, whose hash tag puts it in another slot. */
export type OpenAppStore = (
  now: () => number,
  limits?: RedisStoreLimits,
  app?: string,
) => Promise<RedisStore>

/**
 * Runs the shared incident-store and coordination suites on a Redis Cluster or Sentinel reached
 * through one client (made in the file's `before`, hence the getter); returns the opener for the
 * file's own tests.
 */
export function describeTopologyStore(name: string, client: () => object): OpenAppStore {
  let apps = 0
  const open: OpenAppStore = (now, limits = STORE_LIMITS, app = `app${++apps}`) => {
    const prefix = `faultline:{${app}}:`
    return Promise.resolve(
      new RedisStore(commanderOf(client(), `${prefix}last`), { prefix, limits, now }),
    )
  }
  describeIncidentStore(name, (now) => open(now))
  describeIncidentStoreBounds(name, (now) =>
    open(now, { retentionMs: 14 * 86_400_000, maxFingerprints: 3, maxIncidents: 5 }),
  )
  describeCoordination(name, (now) => {
    const app = `fleet${++apps}`
    return Promise.resolve(() => open(now, STORE_LIMITS, app))
  })
  return open
}

/** Checks that each bad `store` setting fails at start-up naming its field. */
export function expectStoreRefused(bad: Array<[unknown, string]>): void {
  for (const [store, field] of bad) {
    let thrown: unknown
    try {
      createFaultline({ store: store as never, env: false, stderr: false })
    } catch (err) {
      thrown = err
    }
    expect(thrown, JSON.stringify(store)).to.be.instanceOf(FaultlineConfigError)
    expect((thrown as FaultlineConfigError).field, JSON.stringify(store)).to.equal(field)
  }
}
