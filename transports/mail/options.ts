import { hostname } from 'node:os'
import { resolve } from 'node:path'
import {
  checkCeiling,
  checkFieldTypes,
  checkKnownKeys,
  describeValue,
  EMAIL,
  failOption,
  type FieldType,
  parseSettingUrl,
  readCaOption,
} from '../../lib/config/option-checks.js'
import { rejectRenamed } from '../../lib/config/renames.js'
import { checkMailAuth, type MailAuth } from './auth-option.js'

/**
 * The `mail` option as an object.
 *
 * @example
 * ```ts
 * // the relay's certificate is from a private CA: trusted for mail only, and still checked
 * const mail: MailOptions = { host: 'mail.example.org', tls: { ca: '/etc/ssl/mail-ca.pem' } }
 * createFaultline({ managers: ['ops@example.org'], mail })
 * ```
 */
export interface MailOptions {
  /** `smtp://user:pass@host:587` (STARTTLS required), `smtps://…` (TLS from the start), or `outbox:DIR` (each mail an `.eml` file in DIR, no server). Query: `from`, `ca` (a PEM file), `servername`, `requireTLS=false`. */
  url?: string
  host?: string
  port?: number
  /** TLS from the first byte (port 465); otherwise STARTTLS. */
  secure?: boolean
  /** `{ user, pass }` (and `method`: `PLAIN`, `LOGIN` or `CRAM-MD5`), or `{ type: 'OAuth2', user, accessToken, … }`. */
  auth?: MailAuth
  /** The sender. Default: `"<app> errors" <faultline@<host name>>`. */
  from?: string
  /** Recipients; by default the top-level `managers` (for an `outbox` without managers, `ops@localhost`). */
  to?: string[]
  /** Write each mail as an `.eml` file in this directory instead of sending it: the embedded default. */
  outbox?: string
  /** Refuse to send without STARTTLS. Default true. */
  requireTLS?: boolean
  /** TLS settings: a CA (PEM text, or a path to a PEM file) to trust, the name to check, certificate checks (on). */
  tls?: { ca?: string | string[]; servername?: string; rejectUnauthorized?: boolean }
  /** The least severe report mailed: `error` (the default: errors and tracebacks) or `warn` (warnings too). */
  level?: 'error' | 'warn'
  /** How long later occurrences of one fingerprint gather into a digest. Default 5 minutes. */
  digestWindowMs?: number
  /** At most `max` mails (default 30) per `periodMs` (default an hour); past it, one summary says what was held back. */
  ceiling?: CeilingOptions
  /**
   * Connection, greeting and socket timeouts (10 s, 10 s, 30 s), and `sendMs`, the most one mail may take
   * from start to end (default 3 minutes): the socket timeout only counts silence, so a server that answers
   * a byte at a time would otherwise hold a send, and the connection the next mails wait for, for hours.
   * A send past it fails, is retried later, and its connection is destroyed rather than reused.
   */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number; sendMs?: number }
  /** Tries per mail before it is kept as undeliverable. Default 6. */
  attempts?: number
  /** Send even in debug mode. */
  force?: boolean
}

/**
 * A ceiling: at most `max` per `periodMs`, for mails and for new tickets alike.
 *
 * @example
 * ```ts
 * createFaultline({ managers: ['ops@example.org'], mail: { url: 'smtp://mail.example.org', ceiling: { max: 10, periodMs: 3_600_000 } } })
 * ```
 */
export interface CeilingOptions {
  /** The most per period. Default 30. */
  max?: number
  /** The period, in milliseconds. Default an hour. */
  periodMs?: number
}

/** SMTP settings in nodemailer's terms. */
export interface SmtpSettings {
  host: string
  port: number
  secure: boolean
  requireTLS: boolean
  auth?: MailAuth
  tls: { ca?: string[]; servername?: string; rejectUnauthorized: boolean }
  connectionTimeout: number
  greetingTimeout: number
  socketTimeout: number
}

/** The mail settings once validated. */
export interface ResolvedMailOptions {
  smtp?: SmtpSettings
  outbox?: string
  from: string
  to: string[]
  warnings: boolean
  digestWindowMs: number
  maxPerHour: number
  ceilingPeriodMs: number
  attempts: number
  /** The most one send may take, start to end, before it fails and its connection is destroyed. */
  sendMs: number
  /** Where mail goes, for messages: `smtp://host:port` or the outbox path, never a password. */
  target: string
}

// the type checker keeps these in step with MailOptions
const KNOWN_FIELDS: Record<keyof MailOptions, true> = {
  url: true,
  host: true,
  port: true,
  secure: true,
  auth: true,
  from: true,
  to: true,
  outbox: true,
  requireTLS: true,
  tls: true,
  level: true,
  digestWindowMs: true,
  ceiling: true,
  timeouts: true,
  attempts: true,
  force: true,
}
const KNOWN = Object.keys(KNOWN_FIELDS)
const TIMEOUT_FIELDS: ReadonlyArray<keyof NonNullable<MailOptions['timeouts']>> = [
  'connectionMs',
  'greetingMs',
  'socketMs',
  'sendMs',
]
const TLS_FIELDS: ReadonlyArray<keyof NonNullable<MailOptions['tls']>> = [
  'ca',
  'servername',
  'rejectUnauthorized',
]
const FIELD_TYPES: Record<string, FieldType> = {
  host: 'text',
  from: 'text',
  secure: 'boolean',
  requireTLS: 'boolean',
  force: 'boolean',
}
const TLS_TYPES: Record<string, FieldType> = {
  ca: 'pem',
  servername: 'text',
  rejectUnauthorized: 'boolean',
}
/** The recipient of an outbox's mails when nobody is named: the files are read from the disk, not delivered. */
const OUTBOX_RECIPIENT = 'ops@localhost'

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    failOption(field, `must be a positive number; got ${JSON.stringify(value)}`)
  return value
}

function fromUrl(url: string, field: string): MailOptions {
  // `outbox:var/outbox`, so the environment alone can ask for files instead of a server
  if (/^outbox:/i.test(url)) {
    const outbox = url.slice('outbox:'.length)
    if (!outbox) failOption(field, 'needs a directory: outbox:var/outbox')
    return { outbox }
  }
  const parsed = parseSettingUrl(field, url, ['smtp:', 'smtps:'])
  const q = parsed.searchParams
  const options: MailOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    secure: parsed.protocol === 'smtps:',
  }
  if (parsed.port) options.port = Number(parsed.port)
  // a user with no password would fail only at the first send, when an error is already being reported
  if (parsed.username && !parsed.password)
    failOption(
      field,
      'names a user but no password: write smtp://user:password@host (percent-encoded), or neither',
    )
  if (parsed.username)
    options.auth = {
      user: decodeURIComponent(parsed.username),
      pass: decodeURIComponent(parsed.password),
    }
  if (q.get('from')) options.from = q.get('from')!
  if (q.get('requireTLS') === 'false') options.requireTLS = false
  const ca = q.get('ca')
  const servername = q.get('servername')
  if (ca || servername)
    options.tls = { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) }
  return options
}

function checkMailLevel(level: unknown): 'error' | 'warn' {
  if (level === undefined || level === 'error' || level === 'warn') return level ?? 'error'
  return failOption('mail.level', `must be "error" or "warn"; got ${JSON.stringify(level)}`)
}

/** Who is mailed when `to` is not set: the managers; an outbox only writes files, so it can do without. */
function recipientsOf(mail: MailOptions, managers: string[]): string[] {
  return managers.length === 0 && mail.outbox !== undefined ? [OUTBOX_RECIPIENT] : managers
}

/**
 * Validates the `mail` setting (URL or object) once, at start-up, naming the
 * field at fault.
 *
 * @example
 * ```ts
 * resolveMailOptions('smtp://u:p@mail.example.org:587', { managers: ['ops@example.org'], appName: 'shop' })
 * ```
 */
export function resolveMailOptions(
  setting: string | Record<string, unknown>,
  context: { managers: string[]; appName: string },
): ResolvedMailOptions {
  const raw = typeof setting === 'string' ? fromUrl(setting, 'mail') : (setting as MailOptions)
  rejectRenamed('mail', raw)
  rejectRenamed('mail.timeouts', raw.timeouts)
  for (const key of Object.keys(raw))
    if (!KNOWN.includes(key))
      failOption(`mail.${key}`, `is not a mail option; known: ${KNOWN.join(', ')}`)
  checkKnownKeys('mail.timeouts', raw.timeouts, TIMEOUT_FIELDS, 'a mail timeout')
  checkKnownKeys('mail.tls', raw.tls, TLS_FIELDS, 'a mail TLS option')
  checkMailAuth(raw.auth)
  checkFieldTypes('mail', raw, FIELD_TYPES)
  checkFieldTypes('mail.tls', raw.tls, TLS_TYPES)
  if (raw.to !== undefined && (!Array.isArray(raw.to) || !raw.to.every((s) => EMAIL.test(s))))
    failOption('mail.to', `must be a list of e-mail addresses; got ${describeValue(raw.to)}`)
  const merged: MailOptions = raw.url ? { ...fromUrl(raw.url, 'mail'), ...raw } : raw
  const to = merged.to ?? recipientsOf(merged, context.managers)
  if (!Array.isArray(to) || to.length === 0)
    failOption(
      'managers',
      'must list at least one address when mail is on (or set mail.to, or FAULTLINE_MANAGERS)',
    )
  const resolved: ResolvedMailOptions = {
    from:
      merged.from ??
      `"${context.appName} errors" <faultline@${hostname().replace(/[^a-zA-Z0-9.-]/g, '') || 'localhost'}>`,
    to,
    warnings: checkMailLevel(merged.level) === 'warn',
    digestWindowMs: positive('mail.digestWindowMs', merged.digestWindowMs, 5 * 60_000),
    ...checkCeiling('mail', merged.ceiling),
    attempts: positive('mail.attempts', merged.attempts, 6),
    sendMs: positive('mail.timeouts.sendMs', merged.timeouts?.sendMs, 3 * 60_000),
    target: '',
  }
  if (merged.outbox !== undefined) {
    if (typeof merged.outbox !== 'string' || !merged.outbox)
      failOption('mail.outbox', 'must be a directory path')
    resolved.outbox = resolve(merged.outbox)
    resolved.target = `outbox ${resolved.outbox}`
    return resolved
  }
  if (!merged.host)
    failOption('mail.host', 'is needed to send mail (or set mail.outbox to write .eml files)')
  const secure = merged.secure === true
  const port = merged.port ?? (secure ? 465 : 587)
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    failOption('mail.port', `must be a port number; got ${JSON.stringify(merged.port)}`)
  const timeouts = merged.timeouts ?? {}
  resolved.smtp = {
    host: merged.host,
    port,
    secure,
    requireTLS: merged.requireTLS !== false,
    ...(merged.auth ? { auth: merged.auth } : {}),
    tls: {
      ...(merged.tls?.ca ? { ca: readCaOption(merged.tls.ca, 'mail.tls.ca') } : {}),
      ...(merged.tls?.servername ? { servername: merged.tls.servername } : {}),
      rejectUnauthorized: merged.tls?.rejectUnauthorized !== false,
    },
    connectionTimeout: positive('mail.timeouts.connectionMs', timeouts.connectionMs, 10_000),
    greetingTimeout: positive('mail.timeouts.greetingMs', timeouts.greetingMs, 10_000),
    socketTimeout: positive('mail.timeouts.socketMs', timeouts.socketMs, 30_000),
  }
  resolved.target = `${secure ? 'smtps' : 'smtp'}://${merged.host}:${port}`
  return resolved
}
