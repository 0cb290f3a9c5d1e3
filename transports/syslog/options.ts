import { hostname } from 'node:os'
import type { NoticesOption } from '../../lib/notices.js'
import { FACILITIES, toHeaderField } from './format.js'
import {
  checkFieldTypes,
  checkKnownKeys,
  failOption,
  parseSettingUrl,
  readCaOption,
  type FieldType,
} from '../../lib/config/option-checks.js'

/**
 * The `syslog` option as an object.
 *
 * @example
 * ```ts
 * // errors and tracebacks only, under local3, so rsyslog can route them to a file of their own
 * const syslog: SyslogOptions = { url: 'udp://127.0.0.1:514', facility: 'local3', level: 'error' }
 * createFaultline({ syslog })
 * ```
 */
export interface SyslogOptions {
  /** `udp://host:514`, `tcp://host:601`, `tls://host:6514`, `relp://host:2514`, `relp+tls://host:2514` or `unix:///path/to/stream.sock`. */
  url?: string
  protocol?: 'udp' | 'tcp' | 'tls' | 'relp' | 'relp+tls' | 'unix'
  host?: string
  port?: number
  path?: string
  /** RFC 5424 (default) or the older BSD format, RFC 3164. */
  format?: 'rfc5424' | 'rfc3164'
  /** Facility name: `user` (default), `daemon`, `local0`…`local7`… */
  facility?: string
  /** APP-NAME; by default the app's name. */
  appName?: string
  /** HOSTNAME; by default this machine's. */
  hostname?: string
  /** The structured data's SD-ID. Default `faultline@32473` (32473 is the enterprise number set aside for examples). */
  sdId?: string
  /**
   * TLS: a CA (PEM text or a PEM file path) to trust instead of the system's, and the name to check. `cert` and `key`
   * (PEM text or file paths) are this client's own certificate, which rsyslog's imrelp asks for over `relp+tls://`.
   */
  tls?: {
    ca?: string | string[]
    servername?: string
    rejectUnauthorized?: boolean
    cert?: string
    key?: string
  }
  /** Messages kept while the receiver is away. Default 10 000. */
  queueSize?: number
  /** The largest UDP datagram; longer messages are cut with a marker. Default 8192 (rsyslog's default limit). */
  udpMaxBytes?: number
  /** The largest TCP/TLS message; longer ones are cut with a marker. Default 190 000, under rsyslog's 200 000-byte frame limit, past which it garbles the rest of the connection. */
  streamMaxBytes?: number
  /** RELP: messages sent before their acknowledgements come back (default 128), and how long a session may stay silent while it owes acknowledgements before it is given up and its messages resent (default 10 000 ms). */
  relp?: { window?: number; ackTimeoutMs?: number }
  /** TCP and TLS: messages written this long before a connection closed are sent again on the next one, since plain syslog never says what the receiver kept. Default 2000 ms; 0 turns it off. */
  inDoubtMs?: number
  /**
   * TCP, TLS and Unix sockets: how long bytes handed to the connection may wait unsent (a receiver that stopped
   * reading) before the connection is dropped and what it may not have read is sent again on a new one. Default 30 000 ms.
   */
  writeTimeoutMs?: number
  /** The least severe level sent. Default `warn`: every report. */
  level?: 'error' | 'warn' | 'info'
  /** Send even in debug mode. */
  force?: boolean
}

/**
 * Options of the syslog transport: the `syslog` settings, plus the app's name
 * for APP-NAME and where it spools.
 *
 * @example
 * ```ts
 * // without a spool, what the receiver has not acknowledged yet dies with the process
 * faultline.logger.add(new SyslogTransport({ url: 'relp://logs.example.org:2514',
 *   defaultAppName: 'shop', spoolDir: 'var/spool/syslog' }))
 * ```
 */
export interface SyslogTransportOptions extends SyslogOptions {
  /** The default APP-NAME. */
  defaultAppName?: string
  /** The directory where undelivered messages wait across crashes and restarts (TCP, TLS, RELP and Unix sockets); none keeps them in memory only. */
  spoolDir?: string
  /** Where this transport's notices go when it is not one of a faultline's (which gives it its own `notices`). Default stderr. */
  notices?: NoticesOption
}

/** The syslog settings once validated. */
export interface ResolvedSyslogOptions {
  protocol: 'udp' | 'tcp' | 'tls' | 'relp' | 'relp+tls' | 'unix'
  host: string
  port: number
  path?: string
  format: 'rfc5424' | 'rfc3164'
  facility: number
  appName: string
  hostname: string
  sdId: string
  tls: {
    ca?: string[]
    servername?: string
    rejectUnauthorized: boolean
    cert?: string
    key?: string
  }
  queueSize: number
  udpMaxBytes: number
  streamMaxBytes: number
  relp: { window: number; ackTimeoutMs: number }
  inDoubtMs: number
  writeTimeoutMs: number
  level: 'error' | 'warn' | 'info'
  /** Where messages go, for messages about it. */
  target: string
}

// the type checker keeps these in step with SyslogOptions
const KNOWN_FIELDS: Record<keyof SyslogOptions, true> = {
  url: true,
  protocol: true,
  host: true,
  port: true,
  path: true,
  format: true,
  facility: true,
  appName: true,
  hostname: true,
  sdId: true,
  tls: true,
  queueSize: true,
  udpMaxBytes: true,
  streamMaxBytes: true,
  relp: true,
  inDoubtMs: true,
  writeTimeoutMs: true,
  level: true,
  force: true,
}
const KNOWN = Object.keys(KNOWN_FIELDS)
const TLS_FIELDS: ReadonlyArray<keyof NonNullable<SyslogOptions['tls']>> = [
  'ca',
  'servername',
  'rejectUnauthorized',
  'cert',
  'key',
]
const DEFAULT_PORTS = { udp: 514, tcp: 601, tls: 6514, relp: 2514, 'relp+tls': 2514, unix: 0 }
const TLS_TYPES: Record<string, FieldType> = {
  ca: 'pem',
  servername: 'text',
  rejectUnauthorized: 'boolean',
  cert: 'pem',
  key: 'pem',
}
const PROTOCOLS = ['udp', 'tcp', 'tls', 'relp', 'relp+tls', 'unix']

function fromUrl(url: string, field: string): SyslogOptions {
  const schemes = PROTOCOLS.map((p) => `${p}:`)
  const unix = url.toLowerCase().startsWith('unix:')
  const parsed = parseSettingUrl(
    field,
    url,
    schemes,
    unix ? { host: 'none', path: 'required' } : {},
  )
  const protocol = parsed.protocol.slice(0, -1)
  if (protocol === 'unix') return { protocol: 'unix', path: decodeURIComponent(parsed.pathname) }
  const options: SyslogOptions = {
    protocol: protocol as 'udp',
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
  }
  if (parsed.port) options.port = Number(parsed.port)
  return options
}

function wholeNumber(
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    failOption(field, `must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`)
  return value
}

/**
 * Validates the `syslog` setting (URL or object) once, at start-up, naming
 * the field at fault.
 *
 * @example
 * ```ts
 * resolveSyslogOptions('tls://logs.example.org:6514', { appName: 'shop' })
 * ```
 */
export function resolveSyslogOptions(
  setting: string | Record<string, unknown>,
  context: { appName: string },
): ResolvedSyslogOptions {
  const raw = typeof setting === 'string' ? fromUrl(setting, 'syslog') : (setting as SyslogOptions)
  for (const key of Object.keys(raw))
    if (!KNOWN.includes(key))
      failOption(`syslog.${key}`, `is not a syslog option; known: ${KNOWN.join(', ')}`)
  checkFieldTypes('syslog', raw, { path: 'text', force: 'boolean' })
  checkFieldTypes('syslog.tls', raw.tls, TLS_TYPES)
  const o: SyslogOptions = raw.url ? { ...fromUrl(raw.url, 'syslog'), ...raw } : raw
  const protocol = o.protocol ?? 'udp'
  if (!PROTOCOLS.includes(protocol))
    failOption('syslog.protocol', 'must be udp, tcp, tls, relp, relp+tls or unix')
  checkKnownKeys('syslog.tls', o.tls, TLS_FIELDS, 'a syslog TLS option')
  if (Boolean(o.tls?.cert) !== Boolean(o.tls?.key))
    failOption(
      o.tls?.cert ? 'syslog.tls.key' : 'syslog.tls.cert',
      'is needed too: a client certificate comes with its private key',
    )
  if (o.relp !== undefined && (o.relp === null || typeof o.relp !== 'object'))
    failOption('syslog.relp', 'must be an object such as { window: 128, ackTimeoutMs: 10000 }')
  checkKnownKeys('syslog.relp', o.relp, ['window', 'ackTimeoutMs'], 'a RELP option')
  if (protocol === 'unix' && !o.path) failOption('syslog.path', 'is needed for a unix socket')
  const facility = o.facility ?? 'user'
  if (!(facility in FACILITIES))
    failOption(
      'syslog.facility',
      `must be one of ${Object.keys(FACILITIES).join(', ')}; got ${JSON.stringify(facility)}`,
    )
  const format = o.format ?? 'rfc5424'
  if (format !== 'rfc5424' && format !== 'rfc3164')
    failOption('syslog.format', 'must be "rfc5424" or "rfc3164"')
  const level = o.level ?? 'warn'
  if (!['error', 'warn', 'info'].includes(level))
    failOption('syslog.level', 'must be "error", "warn" or "info"')
  const sdId = o.sdId ?? 'faultline@32473'
  if (!/^[\x21-\x7e]{1,32}$/.test(sdId) || /[= \]"]/.test(sdId))
    failOption('syslog.sdId', 'must be 1 to 32 printable characters without =, space, ] or "')
  const host = o.host ?? '127.0.0.1'
  if (protocol !== 'unix' && (typeof host !== 'string' || host.trim() === ''))
    failOption('syslog.host', `must be a host name; got ${JSON.stringify(host)}`)
  const port = wholeNumber(
    'syslog.port',
    o.port,
    DEFAULT_PORTS[protocol],
    protocol === 'unix' ? 0 : 1,
    65535,
  )
  return {
    protocol,
    host,
    port,
    ...(o.path ? { path: o.path } : {}),
    format,
    facility: FACILITIES[facility]!,
    appName: toHeaderField(o.appName ?? context.appName, 48),
    hostname: toHeaderField(o.hostname ?? hostname(), 255),
    sdId,
    tls: {
      ...(o.tls?.ca ? { ca: readCaOption(o.tls.ca, 'syslog.tls.ca') } : {}),
      ...(o.tls?.servername ? { servername: o.tls.servername } : {}),
      rejectUnauthorized: o.tls?.rejectUnauthorized !== false,
      ...(o.tls?.cert && o.tls.key
        ? {
            cert: readCaOption(o.tls.cert, 'syslog.tls.cert').join('\n'),
            key: readCaOption(o.tls.key, 'syslog.tls.key').join('\n'),
          }
        : {}),
    },
    queueSize: wholeNumber('syslog.queueSize', o.queueSize, 10_000, 1, 10_000_000),
    udpMaxBytes: wholeNumber('syslog.udpMaxBytes', o.udpMaxBytes, 8192, 480, 65507),
    streamMaxBytes: wholeNumber(
      'syslog.streamMaxBytes',
      o.streamMaxBytes,
      190_000,
      480,
      16 * 1024 * 1024,
    ),
    relp: {
      window: wholeNumber('syslog.relp.window', o.relp?.window, 128, 1, 10_000),
      ackTimeoutMs: wholeNumber(
        'syslog.relp.ackTimeoutMs',
        o.relp?.ackTimeoutMs,
        10_000,
        100,
        3_600_000,
      ),
    },
    inDoubtMs: wholeNumber('syslog.inDoubtMs', o.inDoubtMs, 2000, 0, 60_000),
    writeTimeoutMs: wholeNumber('syslog.writeTimeoutMs', o.writeTimeoutMs, 30_000, 100, 3_600_000),
    level,
    target: protocol === 'unix' ? `unix://${o.path}` : `${protocol}://${host}:${port}`,
  }
}
