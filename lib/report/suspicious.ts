import { getErrorStatus, readField } from './error-status.js'

/**
 * The families of suspicious requests; warnings are rate-limited per family and client.
 *
 * @example
 * ```ts
 * app.get('/backup.zip', () => {
 *   // limited per client together with the probes faultline detects itself
 *   throw new SuspiciousRequest('backup archive probe', { category: 'probe-path' })
 * })
 * ```
 */
export type SuspiciousCategory =
  'disallowed-host' | 'xhr-only' | 'malformed-input' | 'probe-path' | 'incident-view' | 'app'

/**
 * Options of a `SuspiciousRequest`.
 *
 * @example
 * ```ts
 * // the body parsed, but no page of the shop sends a coupon it never issued: 422, not 400
 * const options: SuspiciousRequestOptions = { status: 422, cause: lookupError }
 * throw new SuspiciousRequest('unknown coupon code', options)
 * ```
 */
export interface SuspiciousRequestOptions {
  /** A 4xx status for the response; 400 by default. */
  status?: number
  cause?: unknown
  category?: SuspiciousCategory
}

/**
 * Throw it (or pass it to `next`) when a request looks like an attack or a
 * probe rather than a bug: the client gets a 400 (or the given 4xx), and the
 * report is a warning with the reason, never a traceback and never a mail.
 *
 * @example
 * ```ts
 * app.post('/transfer', (req, res) => {
 *   if (req.body.amount < 0) throw new SuspiciousRequest('negative transfer amount')
 * })
 * ```
 */
export class SuspiciousRequest extends Error {
  override readonly name = 'SuspiciousRequest'
  /** Read by shape, as Node's own errors. */
  readonly code = 'FAULTLINE_SUSPICIOUS_REQUEST'
  readonly status: number
  readonly reason: string
  readonly category: SuspiciousCategory
  /** Marks the error by shape, so a copy of faultline in another package is recognised too. */
  readonly suspicious = true
  /** Scanners learn nothing from the page: the reason stays in the report. */
  readonly expose = false

  constructor(reason: string, options: SuspiciousRequestOptions = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause })
    const status = options.status
    this.status =
      typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 499
        ? status
        : 400
    this.reason = reason
    this.category = options.category ?? 'app'
  }
}

/** What made a thrown value suspicious, read by shape. */
export interface SuspicionFound {
  reason: string
  category: SuspiciousCategory
}

const MALFORMED_TYPES: Record<string, string> = {
  'entity.parse.failed': 'body that does not parse',
  'entity.too.large': 'oversized body',
  'entity.verify.failed': 'body that fails verification',
  'encoding.unsupported': 'unsupported content encoding',
  'charset.unsupported': 'unsupported charset',
  'request.size.invalid': 'body shorter or longer than its Content-Length',
  'parameters.too.many': 'too many parameters',
  'querystring.parse.rangeError': 'parameters nested too deep',
}

// what zlib, brotli and zstd call a body that is not what its Content-Encoding says (body-parser passes their errors on as 400s)
const DECOMPRESSION_CODE =
  /^(?:Z_(?:DATA|BUF|NEED_DICT|STREAM)_ERROR|ERR__ERROR_[A-Z0-9_]+|ERR_BROTLI_[A-Z_]+|ZSTD_error_\w+|ERR_ZSTD_[A-Z_]+)$/

/** Reads whether a thrown value marks a suspicious request: a `SuspiciousRequest`, or malformed input from body parsers and URL decoding. */
export function getSuspicion(err: unknown): SuspicionFound | undefined {
  if (readField(err, 'suspicious') === true) {
    const reason = readField(err, 'reason')
    const category = readField(err, 'category')
    return {
      reason: typeof reason === 'string' ? reason : 'suspicious request',
      category: typeof category === 'string' ? (category as SuspiciousCategory) : 'app',
    }
  }
  const status = getErrorStatus(err)
  if (status === undefined || status >= 500) return undefined
  const type = readField(err, 'type')
  if (typeof type === 'string' && type in MALFORMED_TYPES) {
    return { reason: `malformed input: ${MALFORMED_TYPES[type]}`, category: 'malformed-input' }
  }
  const code = readField(err, 'code')
  if (typeof code === 'string' && DECOMPRESSION_CODE.test(code)) {
    return {
      reason: 'malformed input: body that does not match its Content-Encoding',
      category: 'malformed-input',
    }
  }
  if (readField(err, 'name') === 'URIError')
    return { reason: 'malformed input: bad URL encoding', category: 'malformed-input' }
  return undefined
}

/**
 * The suspicion a report names when the error and the URL both have one:
 * the error's, unless it is only the malformed input a probe brings along
 * (a traversal whose stray `%` fails to decode is the traversal).
 */
export function pickSuspicion(
  fromError: SuspicionFound | undefined,
  fromRequest: SuspicionFound | undefined,
): SuspicionFound | undefined {
  if (!fromError || !fromRequest) return fromError ?? fromRequest
  return fromError.category === 'malformed-input' && fromRequest.category === 'probe-path'
    ? fromRequest
    : fromError
}

// what scanners ask a Node app for: other stacks' files, VCS and secret dotfiles; "\\" separates as "/" does on Windows
const PROBE_PATH =
  /(?:^|[/\\])(?:\.env|\.git|\.svn|\.hg|\.ds_store|\.aws|\.ssh|\.htaccess|\.htpasswd|wp-(?:login|admin|content|includes)|xmlrpc\.php|phpmyadmin|cgi-bin|etc[/\\]passwd|server-status|actuator)(?:[/\\.?#;]|$)|\.(?:php\d?|asp|aspx|jsp|cgi)(?:[/\\?#;]|$)/i
// checked on the decoded URL: a ".." segment between any separators (Tomcat's "..;" included)
const TRAVERSAL = /(?:^|[/\\])\.\.;?(?:[/\\?#]|$)/
const ENCODED = /%(?:[0-9a-f]{2}|u[0-9a-f]{4})/i
const DECODE_ROUNDS = 3
const MAX_URL_CHARS = 8192

/**
 * One round of percent-decoding as a lenient server would do it, never
 * throwing: `%XX` bytes, IIS's `%uXXXX`, and overlong UTF-8 forms of ASCII
 * (`%c0%af` is a "/" to some decoders), so `%252e%252e%252f` is `../` after
 * three rounds.
 */
function decodeRound(text: string): string {
  const bytes = text
    .replace(/%u([0-9a-f]{4})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  // 2- and 3-byte overlong encodings of ASCII, which strict decoders refuse and lenient ones honour
  const ascii = bytes
    .replace(/[\xc0\xc1][\x80-\xbf]/g, (c) =>
      String.fromCharCode(((c.charCodeAt(0) & 0x1f) << 6) | (c.charCodeAt(1) & 0x3f)),
    )
    .replace(/\xe0[\x80-\x81][\x80-\xbf]/g, (c) =>
      String.fromCharCode(((c.charCodeAt(1) & 0x3f) << 6) | (c.charCodeAt(2) & 0x3f)),
    )
  // the rest as UTF-8, when it is bytes at all, then fullwidth and division-slash lookalikes of ".", "/" and "\\"
  const decoded =
    // eslint-disable-next-line no-control-regex -- every byte value, NUL included, is one latin1 can hold
    /[\x80-\xff]/.test(ascii) && !/[^\x00-\xff]/.test(ascii)
      ? Buffer.from(ascii, 'latin1').toString('utf8')
      : ascii
  return decoded.replace(/[\uff0e\u2215\uff0f\u2216\uff3c]/g, (c) =>
    c === '\uff0e' ? '.' : c === '\u2215' || c === '\uff0f' ? '/' : '\\',
  )
}

// the reasons from the most specific down: a NUL byte or a traversal says more than the file it aims at
const NUL_BYTE = 'probe path: NUL byte in the URL'
const TRAVERSAL_FOUND = 'probe path: directory traversal'
const SCANNER_FILE = 'probe path: a file only scanners ask for'

/** The most specific probe in one form of the URL, or `undefined`. */
function probeIn(url: string): string | undefined {
  if (url.includes('\0')) return NUL_BYTE
  if (TRAVERSAL.test(url)) return TRAVERSAL_FOUND
  if (PROBE_PATH.test(url)) return SCANNER_FILE
  return undefined
}

function rankOf(reason: string | undefined): number {
  return reason === NUL_BYTE ? 3 : reason === TRAVERSAL_FOUND ? 2 : reason === SCANNER_FILE ? 1 : 0
}

/**
 * Flags a URL that only a scanner would ask for; the reason goes on the
 * request's warning. The URL is looked at as sent and after each of up to
 * three rounds of decoding, since a catch-all route answers a
 * double-encoded traversal with 200 as readily as a plain one. The most
 * specific reason of every round wins: `/%2e%2e/%2e%2e/etc/passwd` names
 * `etc/passwd` as sent, but decoded it is the traversal it is.
 *
 * @example
 * ```ts
 * detectProbe('/.env')                     // 'probe path: a file only scanners ask for'
 * detectProbe('/%2e%2e/%2e%2e/etc/passwd') // 'probe path: directory traversal'
 * detectProbe('/shop/cart')                // undefined
 * ```
 */
export function detectProbe(url: string): string | undefined {
  let current = url.length > MAX_URL_CHARS ? url.slice(0, MAX_URL_CHARS) : url
  let best: string | undefined
  for (let round = 0; ; round++) {
    const found = probeIn(current)
    if (rankOf(found) > rankOf(best)) best = found
    if (best === NUL_BYTE || round === DECODE_ROUNDS || !ENCODED.test(current)) return best
    current = decodeRound(current)
  }
}
