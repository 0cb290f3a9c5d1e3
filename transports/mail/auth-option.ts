import { checkKnownKeys, describeKind, failOption } from '../../lib/config/option-checks.js'

/**
 * `mail.auth`: a password login, or OAuth2 as nodemailer takes it.
 *
 * @example
 * ```ts
 * const auth: MailAuth = { user: 'alerts@example.org', pass: process.env.SMTP_PASSWORD! }
 * ```
 */
export type MailAuth = MailPasswordAuth | MailOAuth2

/** A user name and password, sent with the SASL method the server offers first (or `method`). */
export interface MailPasswordAuth {
  type?: 'login'
  user: string
  pass: string
  /** The SASL method: `PLAIN`, `LOGIN` or `CRAM-MD5`. Default: the first the server offers. */
  method?: 'PLAIN' | 'LOGIN' | 'CRAM-MD5'
}

/**
 * XOAUTH2, with nodemailer's own OAuth2 options (see nodemailer.com/smtp/oauth2): an `accessToken`,
 * or what gets one (`refreshToken` with `clientId` and `clientSecret`, `serviceClient` with
 * `privateKey`, or `provisionCallback`).
 */
export interface MailOAuth2 {
  type: 'OAuth2'
  user: string
  accessToken?: string
  expires?: number
  clientId?: string
  clientSecret?: string
  refreshToken?: string
  accessUrl?: string
  serviceClient?: string
  privateKey?: string | object
  scope?: string
  timeout?: number
  serviceRequestTimeout?: number
  requestTimeout?: number
  provisionCallback?: (...args: never[]) => unknown
  tls?: Record<string, unknown>
  customHeaders?: Record<string, unknown>
  customParams?: Record<string, unknown>
}

const PASSWORD_KEYS: ReadonlyArray<keyof MailPasswordAuth> = ['user', 'pass', 'method', 'type']
const METHODS = ['PLAIN', 'LOGIN', 'CRAM-MD5']
// nodemailer's XOAuth2 options, each with the type it reads it as
const OAUTH2_KEYS: Record<keyof MailOAuth2, 'string' | 'number' | 'function' | 'object' | 'key'> = {
  type: 'string',
  user: 'string',
  accessToken: 'string',
  expires: 'number',
  clientId: 'string',
  clientSecret: 'string',
  refreshToken: 'string',
  accessUrl: 'string',
  serviceClient: 'string',
  privateKey: 'key',
  scope: 'string',
  timeout: 'number',
  serviceRequestTimeout: 'number',
  requestTimeout: 'number',
  provisionCallback: 'function',
  tls: 'object',
  customHeaders: 'object',
  customParams: 'object',
}

function failAuth(field: string, expected: string, value: unknown): never {
  return failOption(field, `must be ${expected}; got ${describeKind(value)}`)
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

function checkUser(auth: Record<string, unknown>): void {
  if (typeof auth.user !== 'string' || auth.user === '')
    failAuth('mail.auth.user', 'a non-empty string', auth.user)
}

function checkOAuth2(auth: Record<string, unknown>): void {
  const known = Object.keys(OAUTH2_KEYS) as Array<keyof MailOAuth2>
  checkKnownKeys('mail.auth', auth, known, 'an OAuth2 mail auth option')
  checkUser(auth)
  for (const key of known) {
    const value = auth[key]
    const type = OAUTH2_KEYS[key]
    if (value === undefined || key === 'type') continue
    if (type === 'string' && (typeof value !== 'string' || value === ''))
      failAuth(`mail.auth.${key}`, 'a non-empty string', value)
    if (type === 'number' && (typeof value !== 'number' || !(value >= 0)))
      failAuth(`mail.auth.${key}`, 'a number of at least 0', value)
    if (type === 'function' && typeof value !== 'function')
      failAuth(`mail.auth.${key}`, 'a function', value)
    if (type === 'object' && !isRecord(value)) failAuth(`mail.auth.${key}`, 'an object', value)
    if (type === 'key' && typeof value !== 'string' && !isRecord(value))
      failAuth(`mail.auth.${key}`, 'a private key (PEM text or a key object)', value)
  }
  if (auth.serviceClient !== undefined && auth.privateKey === undefined)
    failOption('mail.auth.privateKey', 'is needed with mail.auth.serviceClient')
  if (
    ['accessToken', 'refreshToken', 'serviceClient', 'provisionCallback'].every(
      (k) => auth[k] === undefined,
    )
  )
    failOption(
      'mail.auth',
      'with type OAuth2 needs an accessToken, or what gets one: refreshToken (with clientId and clientSecret), serviceClient (with privateKey) or provisionCallback',
    )
}

/**
 * Checks `mail.auth` at start-up: `{ user, pass[, method] }` or `{ type: 'OAuth2', user, … }`, naming
 * the field at fault. No message shows a value of it, only its type: any of them may be a secret.
 *
 * @example
 * ```ts
 * checkMailAuth({ usr: 'alerts', pass: 's3cret' }) // throws naming mail.auth.usr, without s3cret
 * ```
 */
export function checkMailAuth(value: unknown): void {
  if (value === undefined) return
  if (!isRecord(value))
    failAuth(
      'mail.auth',
      "an object such as { user, pass } or { type: 'OAuth2', user, accessToken }",
      value,
    )
  const type = value.type
  if (type !== undefined && (typeof type !== 'string' || !/^(login|oauth2)$/i.test(type)))
    failAuth('mail.auth.type', "'login' (the default) or 'OAuth2'", type)
  if (typeof type === 'string' && type.toLowerCase() === 'oauth2') return checkOAuth2(value)
  checkKnownKeys('mail.auth', value, PASSWORD_KEYS, 'a mail auth option')
  checkUser(value)
  if (typeof value.pass !== 'string' || value.pass === '')
    failAuth('mail.auth.pass', 'a non-empty string', value.pass)
  const method = value.method
  if (
    method !== undefined &&
    (typeof method !== 'string' || !METHODS.includes(method.toUpperCase()))
  )
    failAuth('mail.auth.method', `one of ${METHODS.join(', ')}`, method)
}
