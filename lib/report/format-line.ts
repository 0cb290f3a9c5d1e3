import { configure } from 'safe-stable-stringify'
import { escapeControl } from './control-chars.js'
import { isReport, type Report } from './report.js'
import { errorChain, stackOf } from './serialize-error.js'
import { readTraceFields } from './trace.js'
import { isoTime } from './clock.js'

export { escapeControl }

const KIND_LABELS: Record<string, string> = {
  warning: 'WARNING',
  error: 'ERROR',
  traceback: 'TRACEBACK',
}
const KIND_COLORS: Record<string, string> = {
  warning: '\u001b[33m',
  error: '\u001b[31m',
  traceback: '\u001b[1;31m',
}
const DIM = '\u001b[2m'
const RESET = '\u001b[0m'

/** How `formatLine` writes. */
export interface FormatLineOptions {
  /** ANSI colours, for a terminal: the kind stands out, frames outside the app are dimmed. */
  colors?: boolean
}

function paint(text: string, color: string | undefined, on: boolean | undefined): string {
  return on && color ? `${color}${text}${RESET}` : text
}

/** A report kind's label as the header line shows it (coloured for a terminal). */
export function kindLabel(kind: string, colors?: boolean): string {
  return paint(KIND_LABELS[kind] ?? kind, KIND_COLORS[kind], colors)
}

function isForeignFrame(line: string): boolean {
  return /\(node:|\bnode:|[\\/]node_modules[\\/]/.test(line)
}

/** The stack lines of a full error or traceback report, each escaped and indented under the header. */
function formatStack(info: Report, colors: boolean | undefined): string {
  let text = ''
  for (const { error, label } of errorChain(info.error)) {
    let lines = stackOf(error).split('\n')
    // the header line already says "Name: message" of the error itself (the one link without a label)
    if (!label && lines.length > 1 && lines[0] === `${error.name}: ${error.message}`)
      lines = lines.slice(1)
    text +=
      lines
        .map((line, i) => {
          const first = i === 0 && label !== ''
          const shown = `    ${first ? label : ''}${escapeControl(first ? line : line.trimStart())}`
          return !first && isForeignFrame(line) ? paint(shown, DIM, colors) : shown
        })
        .join('\n') + '\n'
  }
  return text
}

const stringifyMeta = configure({ bigint: true, circularValue: '[Circular]' })
const OWN_FIELDS = new Set(['level', 'message', 'time'])

/** A plain record's other fields, as escaped JSON after its message: what the app logged with it is not lost. */
function metadataOf(info: Record<string, unknown>): string {
  let fields: Record<string, unknown> | undefined
  for (const key of Object.keys(info)) {
    if (OWN_FIELDS.has(key)) continue
    ;(fields ??= {})[key] = info[key]
  }
  return fields ? ` ${escapeControl(stringifyMeta(fields) ?? '')}` : ''
}

/**
 * One report as readable text: a header line (time, kind, status, method,
 * path, incident id, message, fingerprint, and for a storm's repeat the id of
 * the full report it repeats), then, for the full report of an error or a
 * traceback, the stack with its members and causes. A repeat is that one
 * line: in a storm, stderr gets a short greppable line per request, never a
 * stack. Each part is escaped so nothing in a message can forge a log line.
 */
export function formatLine(info: Record<string, unknown>, options: FormatLineOptions = {}): string {
  const time = typeof info.time === 'string' ? info.time : isoTime()
  if (!isReport(info)) {
    const level = String(info.level ?? 'info').toUpperCase()
    return `${time} ${level} ${escapeControl(String(info.message ?? ''))}${metadataOf(info)}\n`
  }
  const request = info.request ? ` ${info.request.method} ${escapeControl(info.request.url)}` : ''
  const status = info.status === undefined ? '' : ` ${info.status}`
  const locus = info.locus && info.locus !== 'before-headers' ? ` (${info.locus})` : ''
  const suspicious =
    info.suspicious && !info.message.startsWith(info.suspicious)
      ? ` — ${escapeControl(info.suspicious)}`
      : ''
  const found = readTraceFields(info)
  // the ids a tracing UI searches by: checked hex, nothing to escape
  const trace = found ? ` trace_id=${found.trace_id} span_id=${found.span_id}` : ''
  const fingerprint = info.fingerprint ? ` fp=${escapeControl(info.fingerprint)}` : ''
  const repeat = info.repeatOf ? ` repeat of ${escapeControl(String(info.repeatOf))}` : ''
  const text = `${time} ${paint(KIND_LABELS[info.kind] ?? info.kind, KIND_COLORS[info.kind], options.colors)}${status}${request} [${info.id}]${locus} ${escapeControl(info.message)}${suspicious}${trace}${fingerprint}${repeat}\n`
  if (info.repeatOf || (info.kind !== 'traceback' && info.kind !== 'error')) return text
  return text + formatStack(info, options.colors)
}
