import type { Report } from './report.js'

const KIND_LABELS: Record<string, string> = { warning: 'WARNING', error: 'ERROR', traceback: 'TRACEBACK' }
const KIND_COLORS: Record<string, string> = { warning: '\u001b[33m', error: '\u001b[31m', traceback: '\u001b[1;31m' }
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

/** Makes text safe for one terminal or log line: control characters (CR, LF, ESC…) become visible escapes. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n'
    if (c === '\r') return '\\r'
    if (c === '\t') return '\\t'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

function isReport(info: Record<string, unknown>): info is Record<string, unknown> & Report {
  return typeof info.kind === 'string' && typeof info.id === 'string' && typeof info.fingerprint === 'string'
}

/**
 * One report as readable text: a header line (time, kind, status, method,
 * path, incident id, message), then, for a traceback, the stack with its
 * causes, each line escaped so nothing in a message can forge a log line.
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
  const suspicious = info.suspicious && !info.message.startsWith(info.suspicious) ? ` — ${escapeControl(info.suspicious)}` : ''
  let text = `${time} ${paint(KIND_LABELS[info.kind] ?? info.kind, KIND_COLORS[info.kind], options.colors)}${status}${request} [${info.id}]${locus} ${escapeControl(info.message)}${suspicious}\n`
  if (info.kind === 'traceback' || info.kind === 'error') {
    let error = info.error
    let depth = 0
    while (error && depth < 8) {
      let lines = (error.stack ?? `${error.name}: ${error.message}`).split('\n')
      // the header line already says "Name: message"
      if (depth === 0 && lines.length > 1 && lines[0] === `${error.name}: ${error.message}`) lines = lines.slice(1)
      const prefix = depth === 0 ? '' : 'Caused by: '
      text += lines
        .map((line, i) => {
          const first = i === 0 && depth > 0
          const shown = `    ${first ? prefix : ''}${escapeControl(first ? line : line.trimStart())}`
          return !first && isForeignFrame(line) ? paint(shown, DIM, options.colors) : shown
        })
        .join('\n') + '\n'
      error = error.cause
      depth++
    }
  }
  return text
}
