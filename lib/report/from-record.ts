import { hostname } from 'node:os'
import { isoTime } from './clock.js'
import { computeFingerprint, normalizeMessage } from './fingerprint.js'
import { createIncidentId } from './incident-id.js'
import { isReport, type Report } from './report.js'

const KINDS: Record<string, 'error' | 'warning'> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  err: 'error',
  warn: 'warning',
  warning: 'warning',
}
const OWN_FIELDS = new Set(['level', 'message', 'time', 'stack'])

function fieldsOf(info: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const key of Object.keys(info)) if (!OWN_FIELDS.has(key)) fields[key] = info[key]
  return fields
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * What an alerting transport (mail, tickets) makes of a winston record: a
 * report as it is, and an app's own `logger.error(…)` or `warn(…)` on a plain
 * winston logger as a hand-written error or warning, its fields kept in the
 * message, so it is mailed or ticketed like one; below `warn`, nothing.
 *
 * @example
 * ```ts
 * reportOf({ level: 'error', message: 'database is down', orderId: 7 }, 'shop')
 * ```
 */
export function reportOf(
  info: Record<string, unknown>,
  app: string,
): (Record<string, unknown> & Report) | undefined {
  if (isReport(info)) return info
  const kind = KINDS[String(info.level)]
  if (!kind) return undefined
  const fields = fieldsOf(info)
  const said = textOf(info.message)
  const message = Object.keys(fields).length ? `${said} ${textOf(fields)}` : said
  return {
    id: createIncidentId(),
    kind,
    level: kind === 'error' ? 'error' : 'warn',
    message,
    // grouped by what was said, not by the fields that vary with each call
    fingerprint: computeFingerprint(['logged', kind, normalizeMessage(said)]),
    time: isoTime(),
    app,
    host: hostname(),
    pid: process.pid,
    logs: [{ level: kind === 'error' ? 'error' : 'warn', message }],
  }
}
