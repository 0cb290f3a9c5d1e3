import type { FleetCoordination } from '../store/types.js'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'

/** How many warnings one window held back, for the summary report. */
export interface DroppedWarnings {
  total: number
  clients: Array<{ family: string; client: string; count: number }>
}

const MAX_KEYS = 10_000
const MAX_LISTED = 20

/**
 * A fixed-window limit on warnings per family (404, probe path, bad Host…)
 * and client, so a scanner cannot flood the log. What it holds back is
 * counted and handed to `onDropped` once the window ends, never lost silently.
 */
export class WarningLimiter {
  #counts = new Map<string, number>()
  #dropped = new Map<string, number>()
  #windowStart = Date.now()
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly perClient: number,
    private readonly windowMs: number,
    private readonly onDropped: (dropped: DroppedWarnings) => void,
  ) {}

  /** Whether a warning of this family from this client may be reported now. */
  allow(family: string, client: string): boolean {
    if (Date.now() - this.#windowStart >= this.windowMs) this.flush()
    // past the key bound, a rotating-address scanner shares one bucket per family
    let key = `${family}\u0000${client}`
    if (!this.#counts.has(key) && this.#counts.size >= MAX_KEYS) key = `${family}\u0000*`
    const count = (this.#counts.get(key) ?? 0) + 1
    this.#counts.set(key, count)
    if (count <= this.perClient) return true
    this.#drop(key)
    return false
  }

  /** Counts a warning held back by a decision made elsewhere (the fleet's count) into this window's summary. */
  hold(family: string, client: string): void {
    if (Date.now() - this.#windowStart >= this.windowMs) this.flush()
    let key = `${family}\u0000${client}`
    if (!this.#dropped.has(key) && this.#dropped.size >= MAX_KEYS) key = `${family}\u0000*`
    this.#drop(key)
  }

  #drop(key: string): void {
    this.#dropped.set(key, (this.#dropped.get(key) ?? 0) + 1)
    // the summary goes out at the window's end even if the scanner stops
    this.#timer ??= setTimeout(
      () => this.flush(),
      this.windowMs - (Date.now() - this.#windowStart),
    ).unref()
  }

  /** Ends the window: reports what was held back, and starts counting anew. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const dropped = this.#dropped
    this.#counts = new Map()
    this.#dropped = new Map()
    this.#windowStart = Date.now()
    if (dropped.size === 0) return
    const clients = [...dropped].map(([key, count]) => {
      const [family = '', client = ''] = key.split('\u0000')
      return { family, client, count }
    })
    clients.sort((a, b) => b.count - a.count)
    const total = clients.reduce((sum, entry) => sum + entry.count, 0)
    this.onDropped({ total, clients: clients.slice(0, MAX_LISTED) })
  }
}

// decisions waiting for the store at once; past it, warnings are decided by this process alone
const MAX_IN_FLIGHT = 256

/**
 * The warning limit counted across a fleet: each client's budget per family
 * is one fixed window in the shared store, whichever process the client
 * reaches. The store answers asynchronously, so the decision is made after
 * the response, never on the request path; past `MAX_IN_FLIGHT` decisions
 * waiting, or when the store fails, the local limiter decides. What the
 * fleet's count holds back goes into this process's summary.
 */
export class FleetWarningLimit {
  #inFlight = 0
  #closed = false
  #settled: (() => void) | undefined
  // clients this process asked about in the current window: past the bound, one shared key per family
  #clients = new Set<string>()
  #bucket = 0

  constructor(
    private readonly local: WarningLimiter,
    private readonly coordination: FleetCoordination,
    private readonly perClient: number,
    private readonly windowMs: number,
    private readonly say: NoticeChannel = stderrNotices,
  ) {}

  /** Decides one warning of `family` from `client`; `report` runs when it may be reported. */
  decide(family: string, client: string, report: () => void): void {
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      if (this.local.allow(family, client)) report()
      return
    }
    this.#inFlight++
    const bucket = Math.floor(Date.now() / this.windowMs)
    const who = this.#keyOf(client, bucket)
    this.coordination
      .countInWindow(`warn:${family}:${who}:${bucket}`, this.windowMs)
      .then(
        (count) => (count <= this.perClient ? report() : this.local.hold(family, who)),
        () => this.local.allow(family, client) && report(),
      )
      .catch((err: unknown) =>
        this.say(
          noticeOf(
            'FAULTLINE_REPORT_FAILED',
            `could not report a warning: ${err instanceof Error ? err.stack : String(err)}`,
          ),
        ),
      )
      .finally(() => {
        // decisions that were still waiting at close are summarised once the last one is in
        if (--this.#inFlight > 0 || !this.#closed) return
        this.local.flush()
        this.#settled?.()
      })
  }

  /** The client as the store's key names it: a rotating-address scanner cannot make a key per address without bound. */
  #keyOf(client: string, bucket: number): string {
    if (bucket !== this.#bucket) {
      this.#bucket = bucket
      this.#clients.clear()
    }
    if (this.#clients.has(client)) return client
    if (this.#clients.size >= MAX_KEYS) return '*'
    this.#clients.add(client)
    return client
  }

  /** At close: the decisions still waiting go into one last summary once they are in; resolves then. */
  close(): Promise<void> {
    this.#closed = true
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => (this.#settled = resolve))
  }
}
