import { escapeControl } from './control-chars.js'
import { isReport } from './report.js'
import { errorChain, stackOf } from './serialize-error.js'
import { readTraceFields } from './trace.js'

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

function isForeignFrame(line: string): boolean {
  return /\(node:|\bnode:|[\\/]node_modules[\\/]/.test(line)
}

/**
 * One report as readable text: a header line (time, kind, status, method,
 * path, incident id, message), then, for a traceback, the stack with its
 * members and causes, each line escaped so nothing in a message can forge a log line.
 */
export function formatLine(info: Record<string, unknown>, options: FormatLineOptions = {}): string {
  const time = typeof info.time === 'string' ? info.time : new Date().toISOString()
  if (!isReport(info)) {
    const level = String(info.level ?? 'info').toUpperCase()
    return `${time} ${level} ${escapeControl(String(info.message ?? ''))}\n`
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
  let text = `${time} ${paint(KIND_LABELS[info.kind] ?? info.kind, KIND_COLORS[info.kind], options.colors)}${status}${request} [${info.id}]${locus} ${escapeControl(info.message)}${suspicious}${trace}\n`
  if (info.kind === 'traceback' || info.kind === 'error') {
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
            return !first && isForeignFrame(line) ? paint(shown, DIM, options.colors) : shown
          })
          .join('\n') + '\n'
    }
  }
  return text
}
