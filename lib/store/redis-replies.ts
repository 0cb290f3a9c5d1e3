import type { IssueSummary } from './types.js'

/** A reply as text: Redis's nil and missing fields become ''. */
export const text = (value: unknown) => (value === null || value === undefined ? '' : String(value))
// what faultline stores is far smaller (reports are cut to 16 KiB); a longer value was not written by faultline
const MAX_JSON_CHARS = 256 * 1024
const MAX_TITLE = 200
const MAX_DATE_MS = 8.64e15

/** A stored time as ISO text; a value that is no time (another writer, a damaged key) reads as the epoch rather than throwing. */
const iso = (ms: unknown) => {
  const n = Number(ms)
  return new Date(Number.isFinite(n) && Math.abs(n) <= MAX_DATE_MS ? n : 0).toISOString()
}

/** A stored JSON value, or undefined when it is missing or not JSON. */
export function parseJson<T>(value: unknown): T | undefined {
  if (typeof value !== 'string' || value === '' || value.length > MAX_JSON_CHARS) return undefined
  try {
    return JSON.parse(value) as T
  } catch {
    return undefined
  }
}

/**
 * An issue from its hash's fields, in the order the scripts read them: kind,
 * title, route, count, first, last, status, mutedUntil, resolvedAt, ticketId,
 * ticketUrl.
 */
export function summaryOf(fingerprint: string, fields: string[], now: number): IssueSummary {
  const [kind, title, route, count, first, last, status, mutedUntil, resolvedAt, id, url] =
    Array.isArray(fields) ? fields : []
  const muted = mutedUntil && Number(mutedUntil) > now
  const times = Number(count)
  return {
    fingerprint,
    kind: kind as IssueSummary['kind'],
    title: title && title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : (title ?? ''),
    ...(route ? { route } : {}),
    count: Number.isSafeInteger(times) && times >= 0 ? times : 0,
    firstSeen: iso(first),
    lastSeen: iso(last),
    status: (status || 'open') as IssueSummary['status'],
    ...(muted ? { mutedUntil: iso(mutedUntil) } : {}),
    ...(resolvedAt ? { resolvedAt: iso(resolvedAt) } : {}),
    ...(id ? { ticket: { id, ...(url ? { url } : {}) } } : {}),
  }
}
