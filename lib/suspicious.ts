import { getErrorStatus, readField } from './error-status.js'

/** The families of suspicious requests; warnings are rate-limited per family and client. */
export type SuspiciousCategory = 'disallowed-host' | 'xhr-only' | 'malformed-input' | 'probe-path' | 'app'

/** Options of a `SuspiciousRequest`. */
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
    this.status = typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 499 ? status : 400
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
}

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
  if (readField(err, 'name') === 'URIError') return { reason: 'malformed input: bad URL encoding', category: 'malformed-input' }
  return undefined
}

// what scanners ask a Node app for: other stacks' files, VCS and secret dotfiles, traversal, NUL bytes
const PROBE_PATH = /(?:^|\/)(?:\.env|\.git|\.svn|\.hg|\.ds_store|\.aws|\.ssh|\.htaccess|\.htpasswd|wp-(?:login|admin|content|includes)|xmlrpc\.php|phpmyadmin|cgi-bin|etc\/passwd|server-status|actuator)(?:[/.?#]|$)|\.(?:php\d?|asp|aspx|jsp|cgi)(?:[/?#]|$)/i
const TRAVERSAL = /(?:^|[/\\])(?:\.|%2e){2}(?:[/\\?#]|%2f|%5c|$)|%252e%252e|%c0%ae/i
const NUL = /%00|\0/

/** Flags a URL that only a scanner would ask for; the reason goes on the request's warning. */
export function detectProbe(url: string): string | undefined {
  if (NUL.test(url)) return 'probe path: NUL byte in the URL'
  if (TRAVERSAL.test(url)) return 'probe path: directory traversal'
  if (PROBE_PATH.test(url)) return 'probe path: a file only scanners ask for'
  return undefined
}
