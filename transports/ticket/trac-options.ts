import { checkKnownKeys, failOption, parseSettingUrl } from '../../lib/config/option-checks.js'
import { TracAdapter, type TracFields } from './trac.js'

const NAMED = ['type', 'component', 'priority', 'milestone', 'keywords'] as const
const KNOWN = [...NAMED, 'fields', 'timeoutMs']
// what a Trac field name may be (custom fields are lower-case identifiers)
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
// fields faultline sets itself, or Trac's workflow owns
const OWN = new Set([
  'summary',
  'description',
  'keywords',
  'status',
  'resolution',
  'time',
  'changetime',
  'reporter',
])

function checkValue(field: string, value: unknown): void {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || !value.trim() || /[\u0000-\u001f\u007f]/.test(value))
    failOption(field, `must be a one-line text; got ${JSON.stringify(value)}`)
}

/**
 * Checks `tickets.trac` at start-up, naming the field that is wrong.
 *
 * @example
 * ```ts
 * checkTracFields({ type: 'defect' }) // passes; { tpye: 'defect' } throws naming tickets.trac.tpye
 * ```
 */
export function checkTracFields(trac: unknown): asserts trac is TracFields {
  if (!trac || typeof trac !== 'object' || Array.isArray(trac))
    failOption('tickets.trac', 'must be an object of Trac ticket fields')
  const o = trac as Record<string, unknown>
  checkKnownKeys('tickets.trac', o, KNOWN, 'a Trac option')
  for (const key of NAMED) if (o[key] !== undefined) checkValue(`tickets.trac.${key}`, o[key])
  if (o.timeoutMs !== undefined && (typeof o.timeoutMs !== 'number' || !(o.timeoutMs > 0)))
    failOption('tickets.trac.timeoutMs', 'must be a positive number of milliseconds')
  if (o.fields === undefined) return
  if (!o.fields || typeof o.fields !== 'object' || Array.isArray(o.fields))
    failOption('tickets.trac.fields', 'must be an object of field names and values')
  for (const [name, value] of Object.entries(o.fields)) {
    if (!FIELD_NAME.test(name) || OWN.has(name))
      failOption(
        `tickets.trac.fields.${name}`,
        OWN.has(name) ? 'is set by faultline or the workflow' : 'is not a Trac field name',
      )
    checkValue(`tickets.trac.fields.${name}`, value)
  }
}

/**
 * The Trac adapter for `trac+https://USER:PASSWORD@host/path` (the path is
 * the environment's root); the password never reaches an error message.
 *
 * @example
 * ```ts
 * tracAdapterFromUrl('trac+https://bot:pw@trac.example.org/shop').url // 'https://trac.example.org/shop'
 * ```
 */
export function tracAdapterFromUrl(url: string, trac: TracFields | undefined): TracAdapter {
  const parsed = parseSettingUrl('tickets', url, ['trac+https:', 'trac+http:'])
  // parseSettingUrl refused credentials that are not valid percent-encoding
  const user = decodeURIComponent(parsed.username)
  const password = decodeURIComponent(parsed.password)
  if (!user || !password)
    failOption(
      'tickets',
      'must carry a user and password: trac+https://USER:PASSWORD@host/path (the path is the Trac environment)',
    )
  if (parsed.search || parsed.hash)
    failOption('tickets', 'must be the Trac environment root, with no ?query or #fragment')
  const scheme = parsed.protocol.slice('trac+'.length)
  return new TracAdapter({
    url: `${scheme}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`,
    user,
    password,
    ...(trac ?? {}),
  })
}
