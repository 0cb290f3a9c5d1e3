import type { TransportStats } from './transport-contract.js'

/**
 * One transport's counts as `faultline.stats()` gives them: the declared
 * `TransportStats`, and for syslog (and mail, whose delivery line counts it
 * too) the units sent again and the sessions dropped for a broken protocol.
 *
 * @example
 * ```ts
 * const mail: FaultlineTransportStats | undefined = faultline.stats().mail
 * if (mail && mail.dropped > 0) alert(`${mail.dropped} mails lost`)
 * ```
 */
export interface FaultlineTransportStats extends TransportStats {
  /** Units sent again because their delivery was in doubt (syslog over plain TCP, mail). */
  resent?: number
  /** RELP sessions dropped because the receiver broke the protocol (syslog). */
  protocolErrors?: number
}

/**
 * `faultline.stats()`: each transport that declares `stats()`, by name.
 *
 * @example
 * ```ts
 * const stats: FaultlineStats = faultline.stats() // { syslog: { delivered: 40, queued: 0, …, protocolErrors: 0 } }
 * ```
 */
export type FaultlineStats = Record<string, FaultlineTransportStats>

const DECLARED = ['delivered', 'queued', 'spooled', 'retried', 'dropped'] as const
const EXTRA = ['resent', 'protocolErrors'] as const

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/** The declared counts, or undefined for anything else: another shape is skipped, never guessed at. */
function declared(stats: unknown): FaultlineTransportStats | undefined {
  if (stats === null || typeof stats !== 'object') return undefined
  const counts = stats as Record<string, unknown>
  if (!DECLARED.every((key) => isCount(counts[key]))) return undefined
  const out: FaultlineTransportStats = {
    delivered: counts.delivered as number,
    queued: counts.queued as number,
    spooled: counts.spooled as number,
    retried: counts.retried as number,
    dropped: counts.dropped as number,
  }
  for (const key of EXTRA) if (isCount(counts[key])) out[key] = counts[key]
  return out
}

function nameOf(transport: object): string {
  const name = (transport as { name?: unknown }).name
  if (typeof name === 'string' && name) return name
  return transport.constructor.name.replace(/Transport$/, '').toLowerCase()
}

/** Reads every transport's declared `stats()`; one that has none, throws, or answers another shape is left out. */
export function readStats(transports: readonly object[]): FaultlineStats {
  const out: FaultlineStats = {}
  for (const transport of transports) {
    const read = (transport as { stats?: unknown }).stats
    if (typeof read !== 'function') continue
    let stats: FaultlineTransportStats | undefined
    try {
      stats = declared(read.call(transport))
    } catch {
      // a health check must not fail on one transport's counter
      continue
    }
    if (stats) out[nameOf(transport)] = stats
  }
  return out
}
