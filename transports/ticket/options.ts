import type { TicketAdapter } from './adapter.js'
import { LocalTicketAdapter } from './local.js'
import { RedmineAdapter } from './redmine.js'
import { tracAdapterFromUrl, checkTracFields, type TracFields } from './trac-options.js'
import { failOption, parseSettingUrl } from '../../lib/config/option-checks.js'
import type { FleetCoordination } from '../../lib/store/types.js'

/**
 * The `tickets` option as an object.
 *
 * @example
 * ```ts
 * // a regression gets a fresh ticket, so the closed one keeps the fix's history as it was
 * const tickets: TicketOptions = { url: 'local:var/tickets', errors: true, onRegression: 'new' }
 * createFaultline({ tickets })
 * ```
 */
export interface TicketOptions {
  /** `redmine+https://API_KEY@host/projects/IDENT`, `trac+https://USER:PASSWORD@host/path` or `local:var/tickets`. */
  url?: string
  /** Your own tracker: see `TicketAdapter`. */
  adapter?: TicketAdapter
  /** For Redmine: the id of the issue custom field that holds the fingerprint. */
  fingerprintField?: number
  /** For Redmine: the tracker new issues get, and the status reopened ones get. */
  trackerId?: number
  reopenStatusId?: number
  /** For Trac: the fields new tickets get (`type`, `component`, `priority`, `milestone`, `keywords`, custom `fields`) and the per-call `timeoutMs`. */
  trac?: TracFields
  /** Later occurrences are batched into at most one comment per window. Default 10 minutes. */
  windowMs?: number
  /** File hand-written errors too. */
  errors?: boolean
  /** `reopen` (default) or `new`: what an occurrence of a closed ticket does. */
  onRegression?: 'reopen' | 'new'
  /** File tickets even in debug mode. */
  force?: boolean
  /**
   * The most new errors taken to the tracker per hour; each files a ticket, or
   * gives its slot back when its ticket exists already. The rest get one
   * summary ticket per hour, naming how many were held back and the most
   * frequent. Default 30.
   */
  maxPerHour?: number
  /** The period `maxPerHour` counts over, in milliseconds. Default an hour. */
  ceilingPeriodMs?: number
  /** The most errors whose batching window is open at once; past it, the oldest window ends early. Default 1000. */
  maxFingerprints?: number
  /**
   * The most bytes of first reports the open windows keep whole (for a ticket
   * deleted meanwhile); past it, a window keeps only ids, times and the title's
   * facts. Default 4 MiB.
   */
  maxHeldBytes?: number
}

/**
 * Options of the ticket transport: the `tickets` settings, plus where it spools.
 *
 * @example
 * ```ts
 * createFaultline({ transports: [new TicketTransport({
 *   url: 'redmine+https://API_KEY@tracker.example.org/projects/shop',
 *   spoolDir: 'var/spool/tickets', // else tracker calls not yet done die with the process
 * })] })
 * ```
 */
export interface TicketTransportOptions extends TicketOptions {
  /** The directory where tracker work waits across crashes and restarts; none keeps it in memory only. */
  spoolDir?: string
  /**
   * The fleet's shared store: with it, a fingerprint is claimed before its
   * ticket is filed (two hosts never file two), and the comments count every
   * process's occurrences, at most one per ticket per window.
   */
  coordination?: FleetCoordination
  /**
   * Errors muted in the incident view: their reports are not taken to the tracker (they are
   * still counted and logged elsewhere) until the mute ends.
   */
  muted?: (fingerprint: string) => boolean
}

/** The `tickets` setting once checked: what the ticket transport is built from. */
export interface ResolvedTicketOptions {
  adapter: TicketAdapter
  windowMs?: number
  errors: boolean
  onRegression: 'reopen' | 'new'
  maxPerHour: number
  ceilingPeriodMs: number
  maxFingerprints: number
  maxHeldBytes: number
}

// the type checker keeps these in step with TicketOptions
const KNOWN_FIELDS: Record<keyof TicketOptions, true> = {
  url: true,
  adapter: true,
  fingerprintField: true,
  trackerId: true,
  reopenStatusId: true,
  trac: true,
  windowMs: true,
  errors: true,
  onRegression: true,
  force: true,
  maxPerHour: true,
  ceilingPeriodMs: true,
  maxFingerprints: true,
  maxHeldBytes: true,
}
const KNOWN = Object.keys(KNOWN_FIELDS)

/** A whole number of at least 1, or the default when not given. */
function countOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    failOption(
      `tickets.${name}`,
      `must be a whole number of at least 1; got ${JSON.stringify(value)}`,
    )
  return value
}

function adapterFromUrl(url: string, o: TicketOptions): TicketAdapter {
  if (url.startsWith('local:')) {
    const dir = url.slice('local:'.length).replace(/^\/\/(?=\/)/, '')
    if (!dir) failOption('tickets', 'needs a directory: local:var/tickets')
    return new LocalTicketAdapter(dir)
  }
  if (/^trac\+https?:/i.test(url)) return tracAdapterFromUrl(url, o.trac)
  const parsed = parseSettingUrl('tickets', url, [
    'redmine+https:',
    'redmine+http:',
    'trac+https:',
    'trac+http:',
    'local:',
  ])
  const match = /^(.*)\/projects\/([^/]+)\/?$/.exec(parsed.pathname)
  if (!match)
    failOption('tickets', 'must name the project: redmine+https://API_KEY@host/projects/IDENT')
  const apiKey = decodeURIComponent(parsed.username || parsed.password)
  if (!apiKey)
    failOption('tickets', 'must carry the API key: redmine+https://API_KEY@host/projects/IDENT')
  const baseUrl = `${parsed.protocol.slice('redmine+'.length)}//${parsed.host}${match[1]}`
  return new RedmineAdapter({
    baseUrl,
    apiKey,
    project: decodeURIComponent(match[2]!),
    ...(o.fingerprintField ? { fingerprintField: o.fingerprintField } : {}),
    ...(o.trackerId ? { trackerId: o.trackerId } : {}),
    ...(o.reopenStatusId ? { reopenStatusId: o.reopenStatusId } : {}),
  })
}

/**
 * Validates the `tickets` setting once, at start-up, and builds its adapter.
 *
 * @example
 * ```ts
 * resolveTicketOptions('local:var/tickets').adapter.name // 'local'
 * ```
 */
export function resolveTicketOptions(
  setting: string | Record<string, unknown>,
): ResolvedTicketOptions {
  const o: TicketOptions =
    typeof setting === 'string' ? { url: setting } : (setting as TicketOptions)
  for (const key of Object.keys(o))
    if (!KNOWN.includes(key))
      failOption(`tickets.${key}`, `is not a tickets option; known: ${KNOWN.join(', ')}`)
  for (const key of ['fingerprintField', 'trackerId', 'reopenStatusId'] as const) {
    const v = o[key]
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      failOption(
        `tickets.${key}`,
        `must be a Redmine id (a whole number); got ${JSON.stringify(v)}`,
      )
  }
  if (o.trac !== undefined) checkTracFields(o.trac)
  if (o.windowMs !== undefined && (typeof o.windowMs !== 'number' || !(o.windowMs > 0)))
    failOption('tickets.windowMs', 'must be a positive number of milliseconds')
  if (o.onRegression !== undefined && o.onRegression !== 'reopen' && o.onRegression !== 'new')
    failOption('tickets.onRegression', 'must be "reopen" or "new"')
  let adapter = o.adapter
  if (
    adapter &&
    (typeof adapter.find !== 'function' ||
      typeof adapter.create !== 'function' ||
      typeof adapter.comment !== 'function' ||
      typeof adapter.reopen !== 'function')
  ) {
    failOption('tickets.adapter', 'must have find, create, comment and reopen methods')
  }
  if (!adapter) {
    if (!o.url)
      failOption(
        'tickets',
        'needs a url (redmine+https://…, trac+https://… or local:…) or an adapter',
      )
    adapter = adapterFromUrl(o.url, o)
  }
  const bounds = {
    maxPerHour: countOption('maxPerHour', o.maxPerHour, 30),
    ceilingPeriodMs: countOption('ceilingPeriodMs', o.ceilingPeriodMs, 60 * 60_000),
    maxFingerprints: countOption('maxFingerprints', o.maxFingerprints, 1000),
    maxHeldBytes: countOption('maxHeldBytes', o.maxHeldBytes, 4 * 1024 * 1024),
  }
  return {
    adapter,
    ...(o.windowMs ? { windowMs: o.windowMs } : {}),
    errors: o.errors === true,
    onRegression: o.onRegression ?? 'reopen',
    ...bounds,
  }
}
