import type { Request } from 'express'
import { readField } from './error-status.js'
import { normalizeMessage, normalizePath } from './fingerprint.js'
import type { LoggedMessage, Report, RequestInfo } from './report.js'
import { addAttribution, addTrace, type ReportContext, type ReportInput } from './build-report.js'
import { isXhrRequest, scrubRequestLine } from './request-info.js'
import { collectFields, hideParserQuote, truncate } from './serialize-error.js'
import type { Scrubber } from '../scrub/scrub.js'
import { isoTime } from './clock.js'

interface FirstReport {
  id: string
  fingerprint: string
  until: number
}

const MAX_KEYS = 1000
const MAX_NORMALIZED = 256

// a storm repeats one message: normalised once, not through six regular expressions per request
const normalized = new Map<string, string>()

function normalizeRepeated(message: string): string {
  if (message.length > 500) return normalizeMessage(message)
  let known = normalized.get(message)
  if (known === undefined) {
    if (normalized.size >= MAX_NORMALIZED) normalized.clear()
    known = normalizeMessage(message)
    normalized.set(message, known)
  }
  return known
}

/**
 * What makes two outcomes the same without reading a stack: the kind, the
 * route (or normalised path), and the error's type and message, the logged
 * template, or the status. An error with a cause or members is never a
 * repeat: its chain may differ.
 */
export function repeatKeyOf(input: ReportInput, req: Request): string | undefined {
  const place = `${req.method} ${input.route ?? normalizePath(req.originalUrl ?? req.url ?? '')}`
  if (input.hasError) {
    const err = input.error
    if (
      err === null ||
      typeof err !== 'object' ||
      readField(err, 'cause') !== undefined ||
      readField(err, 'errors') !== undefined
    )
      return undefined
    const name = readField(err, 'name')
    const message = readField(err, 'message')
    if (typeof name !== 'string' || typeof message !== 'string') return undefined
    return `${input.kind}\u0000${place}\u0000${name}\u0000${normalizeRepeated(message)}\u0000${input.suspicious ?? ''}`
  }
  const template = input.logs?.find(
    (log) => log.level === (input.kind === 'error' ? 'error' : 'warn'),
  )?.template
  return `${input.kind}\u0000${place}\u0000${input.status ?? ''}\u0000${template === undefined ? '' : normalizeRepeated(template)}\u0000${input.suspicious ?? ''}`
}

/**
 * Remembers, for a window, which outcomes were reported in full, so that in a
 * storm a repeat is recorded compactly: its own incident id, time, status and
 * request line, and the id of the full report it repeats.
 */
export class RepeatCache {
  #first = new Map<string, FirstReport>()
  constructor(private readonly windowMs: number) {}

  /** The full report this outcome repeats, if one went out within the window. */
  find(key: string, now: number): FirstReport | undefined {
    const first = this.#first.get(key)
    if (first && first.until > now) return first
    return undefined
  }

  remember(key: string, report: Report, now: number): void {
    if (this.#first.size >= MAX_KEYS) this.#first.delete(this.#first.keys().next().value!)
    this.#first.set(key, {
      id: report.id,
      fingerprint: report.fingerprint,
      until: now + this.windowMs,
    })
  }
}

/** The referer, which tells a broken link of this site from a scanner's, even on a repeat. */
function refererOf(
  req: Request,
  headers: Record<string, string>,
  text: (value: string) => string,
): { referer?: string; internalReferer?: boolean } {
  const referer = headers.referer
  if (!referer) return {}
  let internal = false
  try {
    internal =
      new URL(String(req.headers.referer)).host.toLowerCase() ===
      (req.headers.host ?? '').toLowerCase()
  } catch {
    // not a URL: not this site
  }
  return { referer: text(referer), internalReferer: internal }
}

const MEMO_ENTRIES = 500
const MEMO_CHARS = 2000

// a storm repeats the same message and URL: each scanned once per scrubber, while it holds no secret
const cleanTexts = new WeakMap<Scrubber, Set<string>>()

/**
 * `scrubber.text`, skipped for a text already found clean (nothing hidden,
 * nothing found) while no secret is known for this request: the result could
 * only be the text itself. Only clean texts are kept, so no secret outlives
 * its report.
 */
function scrubRepeated(scrubber: Scrubber, value: string, secrets: Set<string>): string {
  if (secrets.size > 0 || value.length > MEMO_CHARS) return scrubber.text(value, secrets)
  let clean = cleanTexts.get(scrubber)
  if (!clean) cleanTexts.set(scrubber, (clean = new Set()))
  if (clean.has(value)) return value
  const text = scrubber.text(value, secrets)
  if (secrets.size === 0 && text === value) {
    if (clean.size >= MEMO_ENTRIES) clean.clear()
    clean.add(value)
  }
  return text
}

/** The request of a repeat: method, URL, route, referer, XHR; built field by field, it runs once per request in a storm. */
function describeRepeat(
  req: Request,
  url: string,
  route: string | undefined,
  headers: Record<string, string>,
  text: (value: string) => string,
): RequestInfo {
  const request: RequestInfo = { method: req.method, url, xhr: false }
  if (route) request.route = route
  if (headers.referer) {
    const { referer, internalReferer } = refererOf(req, headers, text)
    request.referer = referer
    request.internalReferer = internalReferer
  }
  request.xhr = isXhrRequest(req.headers)
  return request
}

/** A repeat's compact report: everything that tells this occurrence apart, and a pointer to the full one. */
export function buildRepeatReport(
  ctx: ReportContext,
  input: ReportInput,
  req: Request,
  first: FirstReport,
): Report {
  // the secrets of the whole request and of the error's fields, as the full report gathers them: a repeat quotes them as well
  const secrets = new Set<string>()
  const line = scrubRequestLine(req, ctx.scrubber, secrets)
  const headers = line.headers
  const fields =
    input.hasError && input.error !== null && typeof input.error === 'object'
      ? collectFields(input.error)
      : undefined
  if (fields) ctx.scrubber.fields(fields, secrets)
  const text = (value: string) => scrubRepeated(ctx.scrubber, value, secrets)
  // the URL as scrubbed while the secrets were gathered, then cleaned of every secret found anywhere
  const url = text(line.url)
  let message: string
  let error: Report['error']
  if (input.hasError) {
    const name = String(readField(input.error, 'name'))
    const raw = hideParserQuote(truncate(String(readField(input.error, 'message')), 8192))
    error = { name, message: text(raw) }
    message = text(truncate(`${name}: ${raw}`.split('\n')[0]!, 500))
  } else {
    const logged = input.logs?.find(
      (log) => log.level === (input.kind === 'error' ? 'error' : 'warn'),
    )
    message = text(
      logged
        ? truncate(logged.message.split('\n')[0]!, 500)
        : (input.suspicious ?? `${input.status ?? ''} ${req.method} ${url}`.trim()),
    )
  }
  const report: Report = {
    id: input.id,
    kind: input.kind,
    level: input.kind === 'warning' ? 'warn' : 'error',
    message,
    fingerprint: first.fingerprint,
    time: isoTime(),
    app: ctx.app,
    host: ctx.host,
    pid: ctx.pid,
    request: describeRepeat(req, url, input.route, headers, text),
    repeatOf: first.id,
  }
  if (input.status !== undefined) report.status = input.status
  if (error) report.error = error
  if (input.locus) report.locus = input.locus
  if (input.suspicious) report.suspicious = text(input.suspicious)
  if (input.logs?.length)
    report.logs = input.logs
      .slice(0, 20)
      .map(({ level, message: m }): LoggedMessage => ({ level, message: text(truncate(m, 8192)) }))
  addTrace(report, input)
  addAttribution(report, input)
  return report
}
