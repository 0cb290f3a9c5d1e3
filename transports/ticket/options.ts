import type { TicketAdapter } from './adapter.js'
import type { NoticesOption } from '../../lib/notices.js'
import { LocalTicketAdapter } from './local.js'
import { RedmineAdapter } from './redmine.js'
import {
  checkCeiling,
  checkFieldTypes,
  failOption,
  parseSettingUrl,
} from '../../lib/config/option-checks.js'
import { rejectRenamed } from '../../lib/config/renames.js'
import type { CeilingOptions } from '../mail/options.js'
import { tracAdapterFromUrl, checkTracFields } from './trac-options.js'
import type { TracFields } from './trac.js'
import type { FleetCoordination } from '../../lib/store/types.js'

/**
 * The `tickets` option as an object.
 *
 * @example
 * ```ts
 * // a regression gets a fresh ticket, so the closed one keeps the fix's history as it was
 * const tickets: TicketOptions = { url: 'local:var/tickets', level: 'error', onRegression: 'new' }
 * createFaultline({ tickets })
 * ```
 */
export interface TicketOptions {
  /** `redmine+https://API_KEY@host/projects/IDENT`, `trac+https://USER:PASSWORD@host/path` or `local:var/tickets`. */
  url?: string
  /** Your own tracker: see `TicketAdapter`. */
  adapter?: TicketAdapter
  /** Redmine's own settings (a `redmine+https://` URL only). */
  redmine?: RedmineSettings
  /** Later occurrences are gathered into at most one comment per window. Default 10 minutes. */
  digestWindowMs?: number
  /** The least severe report filed: `traceback` (the default) or `error` (hand-written errors too). */
  level?: 'traceback' | 'error'
  /** Trac's own settings (a `trac+https://` URL only): the fields new tickets get (`type`, `component`, `priority`, `milestone`, `keywords`, custom `fields`) and the per-call `timeoutMs`. */
  trac?: TracFields
  /** `reopen` (default) or `new`: what an occurrence of a closed ticket does. */
  onRegression?: 'reopen' | 'new'
  /** File tickets even in debug mode. */
  force?: boolean
  /**
   * At most `max` new errors (default 30) taken to the tracker per `periodMs`
   * (default an hour); each files a ticket, or gives its slot back when its
   * ticket exists already. The rest get one summary ticket per period, naming
   * how many were held back and the most frequent.
   */
  ceiling?: CeilingOptions
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
 * Redmine's own ticket settings.
 *
 * @example
 * ```ts
 * createFaultline({ tickets: { url: 'redmine+https://KEY@tracker.example.org/projects/shop', redmine: { fingerprintField: 3 } } })
 * ```
 */
export interface RedmineSettings {
  /** The id of the issue custom field that holds the fingerprint. */
  fingerprintField?: number
  /** The tracker new issues get. */
  trackerId?: number
  /** The status reopened issues get. */
  reopenStatusId?: number
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
  /** Where this transport's notices go when it is not one of a faultline's (which gives it its own `notices`). Default stderr. */
  notices?: NoticesOption
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
  redmine: true,
  digestWindowMs: true,
  level: true,
  trac: true,
  onRegression: true,
  force: true,
  ceiling: true,
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

const REDMINE_FIELDS = ['fingerprintField', 'trackerId', 'reopenStatusId']

function checkRedmineSettings(value: unknown): void {
  if (value === undefined) return
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    failOption('tickets.redmine', 'must be an object such as { fingerprintField: 3 }')
  for (const [key, v] of Object.entries(value)) {
    if (!REDMINE_FIELDS.includes(key))
      failOption(
        `tickets.redmine.${key}`,
        `is not a Redmine option; known: ${REDMINE_FIELDS.join(', ')}`,
      )
    if (!Number.isInteger(v) || (v as number) < 1)
      failOption(
        `tickets.redmine.${key}`,
        `must be a Redmine id (a whole number); got ${JSON.stringify(v)}`,
      )
  }
}

function adapterFromUrl(url: string, o: TicketOptions): TicketAdapter {
  if (url.startsWith('local:')) {
    if (o.redmine) failOption('tickets.redmine', 'applies only to a redmine+https:// URL')
    const dir = url.slice('local:'.length).replace(/^\/\/(?=\/)/, '')
    if (!dir) failOption('tickets', 'needs a directory: local:var/tickets')
    return new LocalTicketAdapter(dir)
  }
  if (/^trac\+https?:/i.test(url)) return tracAdapterFromUrl(url, o.trac)
  const parsed = parseSettingUrl('tickets', url, ['redmine+https:', 'redmine+http:'], {
    path: 'required',
  })
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
    ...(o.redmine?.fingerprintField ? { fingerprintField: o.redmine.fingerprintField } : {}),
    ...(o.redmine?.trackerId ? { trackerId: o.redmine.trackerId } : {}),
    ...(o.redmine?.reopenStatusId ? { reopenStatusId: o.redmine.reopenStatusId } : {}),
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
  rejectRenamed('tickets', o)
  for (const key of Object.keys(o))
    if (!KNOWN.includes(key))
      failOption(`tickets.${key}`, `is not a tickets option; known: ${KNOWN.join(', ')}`)
  checkRedmineSettings(o.redmine)
  checkFieldTypes('tickets', o, { force: 'boolean' })
  if (
    o.digestWindowMs !== undefined &&
    (typeof o.digestWindowMs !== 'number' || !(o.digestWindowMs > 0))
  )
    failOption('tickets.digestWindowMs', 'must be a positive number of milliseconds')
  if (o.level !== undefined && o.level !== 'traceback' && o.level !== 'error')
    failOption('tickets.level', `must be "traceback" or "error"; got ${JSON.stringify(o.level)}`)
  if (o.trac !== undefined) checkTracFields(o.trac)
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
    ...checkCeiling('tickets', o.ceiling),
    maxFingerprints: countOption('maxFingerprints', o.maxFingerprints, 1000),
    maxHeldBytes: countOption('maxHeldBytes', o.maxHeldBytes, 4 * 1024 * 1024),
  }
  return {
    adapter,
    ...(o.digestWindowMs ? { windowMs: o.digestWindowMs } : {}),
    errors: o.level === 'error',
    onRegression: o.onRegression ?? 'reopen',
    ...bounds,
  }
}
