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
import { RedisStore, type RedisCommander } from './redis-store.js'
import type { FleetCoordination, IncidentStore, Store, StoreStatus } from './types.js'

/** The `store` option once checked. */
export type StoreSetting =
  | { kind: 'local' }
  | {
      kind: 'url'
      url: string
      target: string
      prefix?: string
      timeoutMs: number
      mutePollMs?: number
    }
  | {
      kind: 'client'
      client: RedisCommander
      prefix?: string
      timeoutMs: number
      mutePollMs?: number
    }

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
class LocalStore implements Store {
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

interface OwnClient extends RedisCommander {
  connect(): Promise<unknown>
  destroy(): void
  on(event: 'error', listener: (err: unknown) => void): unknown
}

/**
 * Makes the client for a `redis://` URL: connects in the background, reconnects with capped backoff, never
 * queues offline. `ready` settles once it first connects: calls wait for it within their deadline.
 */
async function makeClient(url: string, timeoutMs: number): Promise<OwnClient> {
  const { createClient } = await import('redis')
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandsQueueMaxLength: 10_000,
    socket: {
      connectTimeout: Math.max(1000, timeoutMs * 4),
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
    },
  }) as unknown as OwnClient
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
): Store {
  if (setting.kind === 'local') return new LocalStore()
  const local: FleetCoordination & IncidentStore = new LocalStore()
  const limits = STORE_LIMITS
  const prefix = prefixOf(setting, appName)
  let own = setting.kind === 'url' ? makeClient(setting.url, setting.timeoutMs) : undefined
  const connectOwn = () =>
    own!
      .then((client) => client.connect().then(() => client))
      .then((client) => new RedisStore(client, { prefix, limits }))
  const redis =
    setting.kind === 'client'
      ? Promise.resolve(new RedisStore(setting.client, { prefix, limits }))
      : connectOwn()
  return new FailoverStore(redis, local, {
    target: setting.kind === 'url' ? setting.target : 'the app’s Redis client',
    timeoutMs: setting.timeoutMs,
    maxInFlight: 1000,
    probeMs: 1000,
    connectMs: 5000,
    mutePollMs: setting.mutePollMs ?? 5000,
    say,
    release: async () => {
      const client = await own?.catch(() => undefined)
      client?.destroy()
    },
    ...(setting.kind === 'url'
      ? {
          reopen: () => {
            const old = own!
            own = makeClient(setting.url, setting.timeoutMs)
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
