/**
 * Which header and field names hold secrets. A name is cut into words
 * (`smtpPass`, `smtp_pass`, `X-Smtp-Pass` are all `smtp pass`) and judged by
 * word, not by substring, so `pass` is a secret while `passenger`, `bypass`
 * and `passed` are not, `pin` while `pinned` and `spinner` are not.
 * @module
 */

// a word that alone makes a name secret
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'passwort',
  'pass',
  'passphrase',
  'passcode',
  'pwd',
  'pw',
  'secret',
  'secrets',
  'token',
  'tokens',
  'jwt',
  'bearer',
  'credential',
  'credentials',
  'creds',
  'apikey',
  'privatekey',
  'secretkey',
  'accesskey',
  'authorization',
  'authentication',
  'cookie',
  'cookies',
  'session',
  'sid',
  'csrf',
  'xsrf',
  'signature',
  'mnemonic',
  'pin',
  'otp',
  'totp',
  'hotp',
  'mfa',
  'verifier',
  'card',
  'cardnumber',
  'ccnumber',
  'creditcard',
  'pan',
  'cvv',
  'cvc',
  'csc',
  'ssn',
  'iban',
])
// a fused word that ends like a secret (`accesstoken`, `clientsecret`, `phpsessid`), or holds a password
const SECRET_FUSED =
  /passw|passphrase|(?:token|secret|apikey|privatekey|secretkey|accesskey|sessionid|sessid|cookie)s?$/
// two words that together make a name secret, though neither does alone
const SECRET_PAIRS = new Set([
  'private key',
  'secret key',
  'api key',
  'access key',
  'signing key',
  'master key',
  'encryption key',
  'license key',
  'auth code',
  'recovery code',
  'recovery codes',
  'backup code',
  'backup codes',
  'verification code',
  'reset code',
  'security code',
  'security answer',
  'card number',
])
// a name that ends in one of these describes a secret without holding it: tokens_count, password_length, token_type
const META_WORDS = new Set([
  'count',
  'length',
  'len',
  'size',
  'total',
  'type',
  'expires',
  'expiry',
  'ttl',
  'at',
  'enabled',
  'required',
  'policy',
  'strength',
  'min',
  'max',
])
const MAX_NAME = 128

/** The lower-case words of a name: camelCase, snake_case, kebab-case and dotted names alike. */
export function splitWords(name: string): string[] {
  return name
    .slice(0, MAX_NAME)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-zA-Z])(\d)/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
}

function isSecretWord(word: string): boolean {
  return SECRET_WORDS.has(word) || SECRET_FUSED.test(word)
}

/**
 * Whether a field (body, query, error field, `key=value` in text) or, with
 * `header`, a header is named like a secret. `auth` counts as the whole name
 * or its last word for a field (`auth`, `smtp_auth`, not `auth_method`), and
 * anywhere in a header name (`X-Auth`, `X-Auth-User`).
 *
 * @example
 * ```ts
 * isSecretName('smtp_pass') // true
 * isSecretName('tokens_count') // false
 * isSecretName('X-Auth', true) // true
 * ```
 */
export function isSecretName(name: string, header = false): boolean {
  const words = splitWords(name)
  const last = words[words.length - 1]
  if (last === undefined || (words.length > 1 && META_WORDS.has(last))) return false
  for (let i = 0; i < words.length; i++) {
    if (isSecretWord(words[i]!)) return true
    if (i > 0 && SECRET_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true
  }
  return header ? words.includes('auth') : last === 'auth'
}
