import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { inspect } from 'node:util'
import { FaultlineConfigError } from './config-error.js'

/** An e-mail address as `managers` takes it: no display name, no list. */
export const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]+$/

/** Describes a bad value for an error message, with any credentials in it hidden. */
export function describeValue(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : inspect(value, { depth: 1, breakLength: Infinity })
  // hidden before the cut: a cut inside the user part would leave no @ to find the password by
  const hidden = hideCredentials(text)
  const short = hidden.length > 80 ? `${hidden.slice(0, 80)}…` : hidden
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value
  return `${short} (${kind})`
}

/**
 * A text with the credentials of every URL in it hidden: the password after
 * `user:`, or the whole user part when it has no password (a tracker's API
 * key is written as the user). The user part ends at the last `@` before the
 * host, so a password holding an `@` is hidden whole.
 *
 * @example
 * ```ts
 * hideCredentials('smtp://alerts:s3cret@mail.example.org') // 'smtp://alerts:***@mail.example.org'
 * ```
 */
export function hideCredentials(text: string): string {
  return text.replace(/\/\/([^/?#\s]*)@/g, (_all, userinfo: string) => {
    const colon = userinfo.indexOf(':')
    return colon === -1 ? '//***@' : `//${userinfo.slice(0, colon)}:***@`
  })
}

/** What a URL setting must carry besides its scheme. */
export interface UrlShape {
  /** A host name (`required`), or none at all (`none`, for a Unix socket's path). Default `required`. */
  host?: 'required' | 'none'
  /** No path beyond `/` (`none`), a path that is not empty (`required`), or any (`any`). Default `none`. */
  path?: 'none' | 'required' | 'any'
}

// what new URL() refuses before any of our checks could say why: a port past 65535
const PORT_IN_AUTHORITY =
  /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:\[[^\]]*\]|[^/?#:@]*):(\d+)(?:[/?#]|$)/i

/**
 * Parses a URL setting once, at start-up: its scheme one of `schemes`, a host
 * when it needs one, a port from 1 to 65535, and a path only where the
 * scheme uses one; else the start-up error naming the field, with any
 * password in the value hidden.
 *
 * @example
 * ```ts
 * parseSettingUrl('mail', 'smtp://u:p@mail.example.org:587', ['smtp:', 'smtps:']).hostname // 'mail.example.org'
 * ```
 */
export function parseSettingUrl(
  field: string,
  value: string,
  schemes: string[],
  shape: UrlShape = {},
): URL {
  const got = describeValue(value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    const port = PORT_IN_AUTHORITY.exec(value)?.[1]
    if (port !== undefined && Number(port) > 65535)
      failOption(field, `must have a port from 1 to 65535; got ${got}`)
    return failOption(
      field,
      `must be a URL (${schemes.map((s) => `${s}//…`).join(', ')}); got ${got}`,
    )
  }
  if (!schemes.includes(url.protocol))
    failOption(field, `must be a URL starting with ${schemes.join(' or ')}; got ${got}`)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if ((shape.host ?? 'required') === 'required' && !host)
    failOption(field, `must name a host (${url.protocol}//host…); got ${got}`)
  if (shape.host === 'none' && (host || url.port))
    failOption(field, `must not name a host (${url.protocol}///path); got ${got}`)
  if (url.port !== '' && Number(url.port) < 1)
    failOption(field, `must have a port from 1 to 65535; got ${got}`)
  const path = url.pathname
  if ((shape.path ?? 'none') === 'none' && path !== '' && path !== '/')
    failOption(field, `must have no path (${url.protocol}//host:port); got ${got}`)
  if (shape.path === 'required' && (path === '' || path === '/'))
    failOption(field, `must have a path; got ${got}`)
  // decoded where they are used: bad encoding fails here, naming the field, not later as a bare URIError
  if (!isDecodable(url.username) || !isDecodable(url.password))
    failOption(
      field,
      `has credentials that are not valid percent-encoding (write % as %25); got ${got}`,
    )
  if (!isDecodable(path))
    failOption(field, `has a path that is not valid percent-encoding (write % as %25); got ${got}`)
  return url
}

function isDecodable(part: string): boolean {
  try {
    decodeURIComponent(part)
    return true
  } catch {
    return false
  }
}

/** Throws the start-up error for a transport option, naming the field. */
export function failOption(field: string, message: string): never {
  throw new FaultlineConfigError(field, `faultline: option "${field}" ${message}`)
}

/**
 * Fails at start-up on a key of a nested option object that is not one of `known`, naming it and
 * listing the known ones: a misspelt sub-key would otherwise be ignored, its default used silently.
 *
 * @example
 * ```ts
 * checkKnownKeys('mail.timeouts', { sendMss: 1 }, ['sendMs'], 'a mail timeout') // throws naming mail.timeouts.sendMss
 * ```
 */
export function checkKnownKeys(
  field: string,
  value: unknown,
  known: readonly string[],
  what: string,
): void {
  if (value === undefined) return
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    failOption(field, `must be an object; got ${describeValue(value)}`)
  for (const key of Object.keys(value))
    if (!known.includes(key))
      failOption(`${field}.${key}`, `is not ${what}; known: ${known.join(', ')}`)
}

/** A TLS CA setting as PEM texts: each item is PEM already, or the path of a PEM file read now, at start-up. */
export function readCaOption(ca: string | string[], field: string): string[] {
  return (Array.isArray(ca) ? ca : [ca]).map((item) => {
    if (item.includes('-----BEGIN')) return item
    try {
      return readFileSync(resolve(item), 'utf8')
    } catch (err) {
      return failOption(field, `names a CA file that cannot be read: ${(err as Error).message}`)
    }
  })
}

function wholeAtLeastOne(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    failOption(field, `must be a whole number of at least 1; got ${describeValue(value)}`)
  return value
}

/**
 * Checks a `ceiling: { max, periodMs }` setting (mail's and tickets' alike)
 * into the transports' own names for it.
 *
 * @example
 * ```ts
 * checkCeiling('mail', { max: 10 }) // { maxPerHour: 10, ceilingPeriodMs: 3_600_000 }
 * ```
 */
export function checkCeiling(
  prefix: string,
  value: unknown,
): { maxPerHour: number; ceilingPeriodMs: number } {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value)))
    failOption(
      `${prefix}.ceiling`,
      `must be an object such as { max: 30, periodMs: 3600000 }; got ${describeValue(value)}`,
    )
  const ceiling = (value ?? {}) as Record<string, unknown>
  checkKnownKeys(`${prefix}.ceiling`, ceiling, ['max', 'periodMs'], 'a ceiling option')
  return {
    maxPerHour: wholeAtLeastOne(`${prefix}.ceiling.max`, ceiling.max, 30),
    ceilingPeriodMs: wholeAtLeastOne(`${prefix}.ceiling.periodMs`, ceiling.periodMs, 60 * 60_000),
  }
}

/** What a field of a destination's settings must be: a flag, a non-empty text, or PEM (text, a file's path, or a Buffer, or a list of them). */
export type FieldType = 'boolean' | 'text' | 'pem'

const isText = (value: unknown): boolean => typeof value === 'string' && value.trim() !== ''
const isPem = (value: unknown): boolean => isText(value) || Buffer.isBuffer(value)

/**
 * Fails at start-up on a field of `setting` that is set but not of its type, naming it: a flag given
 * `'false'` would otherwise read as on (or off), a host given a number fail only at the first report.
 * PEM values are described by their type alone: a private key is a secret.
 *
 * @example
 * ```ts
 * checkFieldTypes('mail', { secure: 'true' }, { secure: 'boolean' }) // throws naming mail.secure
 * ```
 */
export function checkFieldTypes(
  prefix: string,
  setting: unknown,
  types: Record<string, FieldType>,
): void {
  if (setting === null || typeof setting !== 'object') return
  for (const [key, type] of Object.entries(types)) {
    const value = (setting as Record<string, unknown>)[key]
    const field = `${prefix}.${key}`
    if (value === undefined) continue
    if (type === 'boolean' && typeof value !== 'boolean')
      failOption(field, `must be true or false; got ${describeValue(value)}`)
    if (type === 'text' && !isText(value))
      failOption(field, `must be a non-empty string; got ${describeValue(value)}`)
    const pems = Array.isArray(value) ? value : [value]
    if (type === 'pem' && (pems.length === 0 || !pems.every(isPem))) {
      const kind = Array.isArray(value) ? 'a list holding other values' : describeKind(value)
      failOption(field, `must be PEM text or a PEM file's path, or a list of them; got ${kind}`)
    }
  }
}

/**
 * What a value is, never what it says, not even a text's length (that narrows a password down): for
 * settings that may hold a secret.
 *
 * @example
 * ```ts
 * describeKind('hunter2') // 'a string (its value is not shown)'
 * ```
 */
export function describeKind(value: unknown): string {
  const kind =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'string'
          ? value === ''
            ? 'an empty string'
            : 'a string'
          : typeof value === 'object'
            ? 'an object'
            : `a ${typeof value}`
  return `${kind} (its value is not shown)`
}
