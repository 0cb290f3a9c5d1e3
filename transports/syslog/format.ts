import { escapeControlReversibly } from '../../lib/report/control-chars.js'
import { isReport, type Report } from '../../lib/report/report.js'
import { formatErrorChain } from '../../lib/report/serialize-error.js'
import { readTraceFields } from '../../lib/report/trace.js'

/** Syslog facilities by name (RFC 5424 table 1). */
export const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
}

const SEVERITIES: Record<string, number> = {
  error: 3,
  warn: 4,
  info: 6,
  http: 6,
  verbose: 7,
  debug: 7,
  silly: 7,
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** What stays the same for every line one transport writes. */
export interface SyslogHeader {
  format: 'rfc5424' | 'rfc3164'
  facility: number
  hostname: string
  appName: string
  procid: string
  sdId: string
}

/** Keeps printable US-ASCII only (33–126, no space), as header fields require, and a length bound; `-` when empty. */
export function toHeaderField(value: unknown, max: number): string {
  const clean = (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '')
    .replace(/[^\x21-\x7e]/g, '')
    .slice(0, max)
  return clean || '-'
}

/** An SD-ID or SD parameter name: a header field that also may not hold `=`, `]` or `"` (RFC 5424 6.3.2). */
export function toSdName(value: unknown): string {
  return toHeaderField(typeof value === 'string' ? value.replace(/[=\]"]/g, '') : value, 32)
}

// RFC 5424 field lengths
const MAX_HOSTNAME = 255
const MAX_APP_NAME = 48
const MAX_PROCID = 128
const MAX_MSGID = 32
// RFC 3164 TAG: up to 32 alphanumeric characters
const TAG = /[^A-Za-z0-9_.-]/g
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/

/** Escapes a structured-data parameter value: `"`, `\` and `]` take a backslash (RFC 5424 6.3.3). */
export function escapeSdValue(value: string): string {
  // control characters (a NUL above all: rsyslog mangles the whole message after one) are escaped like the message's
  // then the RFC's own escapes, backslash included, so a reader that undoes them gets escapeLine's text back whole
  return escapeLine(value).replace(/["\\\]]/g, (c) => `\\${c}`)
}

/**
 * Puts text on one line with nothing lost: a backslash becomes `\\`, CR, LF
 * and tab become `\r`, `\n`, `\t`, other control characters `\uXXXX`. A
 * stack read back through `unescapeLine` is exactly the stack written.
 */
export function escapeLine(text: string): string {
  return escapeControlReversibly(text)
}

/** The inverse of `escapeLine`. */
export function unescapeLine(text: string): string {
  return text.replace(/\\(u[0-9a-f]{4}|[\\nrt])/g, (_m, c: string) => {
    if (c === 'n') return '\n'
    if (c === 'r') return '\r'
    if (c === 't') return '\t'
    if (c === '\\') return '\\'
    return String.fromCharCode(parseInt(c.slice(1), 16))
  })
}

/** Reads a record's field as text only when it is text: a record's fields come from whatever the app (or a request) logged. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function structuredData(sdId: string, params: Array<[string, unknown]>): string {
  const body = params
    .filter(
      ([, v]) =>
        (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v)),
    )
    .map(([k, v]) => ` ${toSdName(k)}="${escapeSdValue(String(v))}"`)
    .join('')
  return body ? `[${toSdName(sdId)}${body}]` : '-'
}

/** MSGID, structured data and message of one winston record; every header part is made safe here, whatever the record holds. */
export function describeRecord(
  info: Record<string, unknown>,
  sdId: string,
): { msgid: string; sd: string; msg: string } {
  let described: { msgid: string; sd: string; msg: string }
  try {
    described = isReport(info) ? describeReport(info, sdId) : describeLine(info, sdId)
  } catch {
    // a record that only looks like a report (fields of the wrong shape) still gets a line
    described = describeLine(info, sdId)
  }
  const { msgid, sd, msg } = described
  return { msgid: toHeaderField(msgid, MAX_MSGID), sd, msg: escapeLine(msg) }
}

function describeReport(
  info: Record<string, unknown> & Report,
  sdId: string,
): { msgid: string; sd: string; msg: string } {
  const r = info.request !== null && typeof info.request === 'object' ? info.request : undefined
  const url = text(r?.url)
  const method = text(r?.method)
  const trace = readTraceFields(info)
  const sd = structuredData(sdId, [
    ['id', info.id],
    ['fingerprint', info.fingerprint],
    ['status', info.status],
    ['method', method],
    ['route', r?.route],
    ['path', url?.split('?')[0]],
    ['locus', info.locus],
    ['suspicious', info.suspicious],
    ['trace_id', trace?.trace_id],
    ['span_id', trace?.span_id],
    ['trace_flags', trace?.trace_flags],
  ])
  const message = text(info.message) ?? ''
  const stack = info.kind === 'warning' ? undefined : formatErrorChain(info.error) || undefined
  const where = url !== undefined && !message.includes(url) ? ` — ${method ?? ''} ${url}` : ''
  return {
    msgid: info.kind.toUpperCase(),
    sd,
    msg: `${message}${where}${stack ? ` stack=${stack}` : ''}`,
  }
}

function describeLine(
  info: Record<string, unknown>,
  sdId: string,
): { msgid: string; sd: string; msg: string } {
  const request =
    info.request !== null && typeof info.request === 'object'
      ? (info.request as Record<string, unknown>)
      : undefined
  const event = text(info.event)
  const sd = structuredData(sdId, [
    ['event', event],
    ['method', text(request?.method)],
    ['path', text(request?.url)?.split('?')[0]],
  ])
  let msg: string
  try {
    msg = String(info.message ?? '')
  } catch {
    msg = '[a message that could not be read]'
  }
  return { msgid: event ? event.toUpperCase() : '-', sd, msg }
}

function rfc3164Time(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/**
 * Formats one winston record as a syslog line, RFC 5424 by default: MSGID is
 * the report's kind, structured data carries its incident id, fingerprint,
 * status, method, route and path, and the message is one line with the stack
 * escaped in it, whole.
 *
 * @example
 * ```ts
 * formatSyslogLine({ level: 'error', ...report }, header)
 * // '<11>1 2026-11-21T10:00:00.000Z web-1 shop 4242 TRACEBACK [faultline@32473 id="7KQ2-M9XD-4TRA" …] TypeError: … stack=…'
 * ```
 */
export function formatSyslogLine(info: Record<string, unknown>, header: SyslogHeader): string {
  const severity = SEVERITIES[String(info.level)] ?? 6
  const pri = header.facility * 8 + severity
  const { msgid, sd, msg } = describeRecord(info, header.sdId)
  // a record's own time is used only when it is a real timestamp: `time` may be anything a caller logged
  const time =
    typeof info.time === 'string' && RFC3339.test(info.time) ? info.time : new Date().toISOString()
  const hostname = toHeaderField(header.hostname, MAX_HOSTNAME)
  const procid = toHeaderField(header.procid, MAX_PROCID)
  if (header.format === 'rfc3164') {
    const tag =
      (typeof header.appName === 'string' ? header.appName : '').replace(TAG, '').slice(0, 32) ||
      'app'
    return `<${pri}>${rfc3164Time(new Date(time))} ${hostname} ${tag}[${procid}]: ${msgid === '-' ? '' : `${msgid} `}${sd === '-' ? '' : `${sd} `}${msg}`
  }
  return `<${pri}>1 ${time} ${hostname} ${toHeaderField(header.appName, MAX_APP_NAME)} ${procid} ${msgid} ${sd} ${msg}`
}

/** Cuts a line to `maxBytes` of UTF-8, on a character boundary, ending with a marker that says how much went. */
export function truncateBytes(line: string, maxBytes: number): string {
  const bytes = Buffer.from(line, 'utf8')
  if (bytes.length <= maxBytes) return line
  const marker = ` … [truncated ${bytes.length} bytes to ${maxBytes}]`
  let end = maxBytes - Buffer.byteLength(marker)
  // step back off a UTF-8 continuation byte, so no character is cut in half
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return `${bytes.subarray(0, end).toString('utf8')}${marker}`
}
