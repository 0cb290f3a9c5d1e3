import { FailoverStore } from './failover-store.js'
import { stderrNotices, type NoticeChannel } from '../notices.js'
import {
  LOCAL_MAX_FINGERPRINTS,
  LOCAL_MAX_INCIDENTS,
  REDIS_MAX_FINGERPRINTS,
  REDIS_MAX_INCIDENTS,
} from './kind-bounds.js'
import { isMutedIn } from './mutes.js'
import { LocalCoordination } from './local-coordination.js'
import { LocalIncidentStore } from './local-incidents.js'
import { RedisStore } from './redis-store.js'
import {
  clusterOptions,
  commanderOf,
  nodeOptions,
  sentinelOptions,
  type ClusterSetting,
  type SentinelSetting,
} from './redis-topology.js'
import type { FleetCoordination, IncidentStore, Store, StoreStatus } from './types.js'

interface Shared {
  prefix?: string
  timeoutMs: number
  mutePollMs?: number
}

/** The `store` option once checked. `target` is where lines say the store is, without credentials. */
export type StoreSetting =
  | { kind: 'local' }
  | ({ kind: 'url'; url: string; target: string } & Shared)
  | ({ kind: 'cluster'; cluster: ClusterSetting; target: string } & Shared)
  | ({ kind: 'sentinel'; sentinel: SentinelSetting; target: string } & Shared)
  /** The app's own node-redis client, cluster or sentinel. */
  | ({ kind: 'client'; client: object } & Shared)

/** How long a Redis call may take before the process answers it alone. */
export const DEFAULT_TIMEOUT_MS = 1000
const RETENTION_MS = 14 * 24 * 3_600_000
/** Bounds of what Redis keeps per app, each kind within its own (see `kind-bounds.ts`). */
export const STORE_LIMITS = {
  retentionMs: RETENTION_MS,
  maxFingerprints: REDIS_MAX_FINGERPRINTS,
  maxIncidents: REDIS_MAX_INCIDENTS,
}

/** This process's own state: the default, and what a fleet falls back to. */
export class LocalStore implements Store {
  readonly #coordination = new LocalCoordination()
  // in the app's own memory, far less than Redis keeps: about 72 MB with every bound reached
  // (2 000 fingerprints at 32 KiB of heap, 10 000 incidents in 768-byte slots off the heap), typically a few MB
  readonly #incidents = new LocalIncidentStore({
    retentionMs: RETENTION_MS,
    maxFingerprints: LOCAL_MAX_FINGERPRINTS,
    maxIncidents: LOCAL_MAX_INCIDENTS,
  })
  countInWindow = this.#coordination.countInWindow.bind(this.#coordination)
  admit = this.#coordination.admit.bind(this.#coordination)
  giveBack = this.#coordination.giveBack.bind(this.#coordination)
  gather = this.#coordination.gather.bind(this.#coordination)
  take = this.#coordination.take.bind(this.#coordination)
  claim = this.#coordination.claim.bind(this.#coordination)
  release = this.#coordination.release.bind(this.#coordination)
  record = this.#incidents.record.bind(this.#incidents)
  issues = this.#incidents.issues.bind(this.#incidents)
  issue = this.#incidents.issue.bind(this.#incidents)
  hourly = this.#incidents.hourly.bind(this.#incidents)
  incident = this.#incidents.incident.bind(this.#incidents)
  resolve = this.#incidents.resolve.bind(this.#incidents)
  readonly #muted = new Map<string, number>()

  mute(fingerprint: string, until: number): Promise<void> {
    if (until > Date.now()) this.#muted.set(fingerprint, until)
    else this.#muted.delete(fingerprint)
    return this.#incidents.mute(fingerprint, until)
  }

  isMuted(fingerprint: string): boolean {
    return isMutedIn(this.#muted, fingerprint)
  }

  linkTicket = this.#incidents.linkTicket.bind(this.#incidents)

  status(): StoreStatus {
    return { backend: 'local', shared: false, fallbacks: 0, outages: 0 }
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** Every key of one app shares a hash tag, so a Redis Cluster keeps them in one slot (scripts touch several). */
function prefixOf(setting: { prefix?: string }, appName: string): string {
  return setting.prefix ?? `faultline:{${appName}}:`
}

interface OwnClient {
  connect(): Promise<unknown>
  destroy(): unknown
  on(event: 'error', listener: (err: unknown) => void): unknown
}

type OwnSetting = Extract<StoreSetting, { kind: 'url' | 'cluster' | 'sentinel' }>

/**
 * Makes the client for a URL, a cluster or a sentinel: reconnects with capped backoff, never queues
 * offline (the failover answers instead). Calls wait for its first connection within their deadline.
 */
async function makeClient(setting: OwnSetting): Promise<OwnClient> {
  const { createClient, createCluster, createSentinel } = await import('redis')
  const { timeoutMs } = setting
  const make = () => {
    if (setting.kind === 'cluster')
      return createCluster(clusterOptions(setting.cluster, timeoutMs) as never)
    if (setting.kind === 'sentinel')
      return createSentinel(sentinelOptions(setting.sentinel, timeoutMs) as never)
    return createClient({ url: setting.url, ...nodeOptions(timeoutMs) })
  }
  const client = make() as unknown as OwnClient
  // the failover reports outages; an unhandled 'error' event would crash the app
  client.on('error', () => {})
  return client
}

/**
 * Opens the store the options ask for: this process's own state, or Redis
 * behind the failover. Never waits for Redis: until it answers, calls are
 * answered locally.
 */
export function openStore(
  setting: StoreSetting,
  appName: string,
  say: NoticeChannel = stderrNotices,
  // what answers while the shared store cannot: a test reads it to find every report after a failover
  local: FleetCoordination & IncidentStore = new LocalStore(),
): Store {
  if (setting.kind === 'local') return new LocalStore()
  const limits = STORE_LIMITS
  const prefix = prefixOf(setting, appName)
  let own = setting.kind === 'client' ? undefined : makeClient(setting)
  const storeOn = (client: object) =>
    new RedisStore(commanderOf(client, `${prefix}last`), { prefix, limits })
  const connectOwn = () => own!.then((client) => client.connect().then(() => storeOn(client)))
  const redis = setting.kind === 'client' ? Promise.resolve(storeOn(setting.client)) : connectOwn()
  return new FailoverStore(redis, local, {
    target: setting.kind === 'client' ? 'the app’s Redis client' : setting.target,
    timeoutMs: setting.timeoutMs,
    maxInFlight: 1000,
    probeMs: 1000,
    connectMs: 5000,
    mutePollMs: setting.mutePollMs ?? 5000,
    say,
    release: async () => {
      const client = await own?.catch(() => undefined)
      await Promise.resolve(client?.destroy()).catch(() => {})
    },
    ...(setting.kind !== 'client'
      ? {
          reopen: () => {
            const old = own!
            own = makeClient(setting)
            void old.then(
              (client) => client.destroy(),
              () => undefined,
            )
            return connectOwn()
          },
        }
      : {}),
  })
}
