import type { IssueSummary } from './types.js'

/** A reply as text: Redis's nil and missing fields become ''. */
export const text = (value: unknown) => (value === null || value === undefined ? '' : String(value))
const iso = (ms: unknown) => new Date(Number(ms)).toISOString()

/** A stored JSON value, or undefined when it is missing or not JSON. */
export function parseJson<T>(value: unknown): T | undefined {
  if (typeof value !== 'string' || value === '') return undefined
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
  const [kind, title, route, count, first, last, status, mutedUntil, resolvedAt, id, url] = fields
  const muted = mutedUntil && Number(mutedUntil) > now
  return {
    fingerprint,
    kind: kind as IssueSummary['kind'],
    title: title ?? '',
    ...(route ? { route } : {}),
    count: Number(count),
    firstSeen: iso(first),
    lastSeen: iso(last),
    status: (status || 'open') as IssueSummary['status'],
    ...(muted ? { mutedUntil: iso(mutedUntil) } : {}),
    ...(resolvedAt ? { resolvedAt: iso(resolvedAt) } : {}),
    ...(id ? { ticket: { id, ...(url ? { url } : {}) } } : {}),
  }
}
