import type { Report } from './report.js'

const KIND_LABELS: Record<string, string> = { warning: 'WARNING', error: 'ERROR', traceback: 'TRACEBACK' }

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
export function formatLine(info: Record<string, unknown>): string {
  const time = typeof info.time === 'string' ? info.time : new Date().toISOString()
  if (!isReport(info)) {
    const level = String(info.level ?? 'info').toUpperCase()
    return `${time} ${level} ${escapeControl(String(info.message ?? ''))}\n`
  }
  const request = info.request ? ` ${info.request.method} ${escapeControl(info.request.url)}` : ''
  const status = info.status === undefined ? '' : ` ${info.status}`
  const locus = info.locus && info.locus !== 'before-headers' ? ` (${info.locus})` : ''
  const suspicious = info.suspicious && !info.message.startsWith(info.suspicious) ? ` — ${escapeControl(info.suspicious)}` : ''
  let text = `${time} ${KIND_LABELS[info.kind] ?? info.kind}${status}${request} [${info.id}]${locus} ${escapeControl(info.message)}${suspicious}\n`
  if (info.kind === 'traceback' || info.kind === 'error') {
    let error = info.error
    let depth = 0
    while (error && depth < 8) {
      const lines = (error.stack ?? `${error.name}: ${error.message}`).split('\n')
      const prefix = depth === 0 ? '' : 'Caused by: '
      text += lines.map((line, i) => `    ${i === 0 ? prefix : ''}${escapeControl(line.trim() === '' ? line : i === 0 ? line : line.trimStart())}`).join('\n') + '\n'
      error = error.cause
      depth++
    }
  }
  return text
}
