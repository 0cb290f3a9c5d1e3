import type { ReportKind } from '../report/report.js'

/**
 * A bound per kind of report. Each kind makes room only among its own: a
 * scanner's warnings, however many and however distinct, never push a
 * traceback or an error out of the incident view, and errors never push out
 * a traceback.
 */
export type KindBounds = Readonly<Record<ReportKind, number>>

/** The kinds, in the order a lookup tries them. */
export const KINDS: readonly ReportKind[] = ['traceback', 'error', 'warning']

/**
 * Fingerprints the app's own memory keeps per kind: 2 000 in all, as before
 * the split (at most about 64 MB of heap with every fingerprint at its bounds).
 */
export const LOCAL_MAX_FINGERPRINTS: KindBounds = { traceback: 1000, error: 500, warning: 500 }

/** Incidents the app's own memory can look up per kind: 10 000 in all (7.7 MB outside the heap). */
export const LOCAL_MAX_INCIDENTS: KindBounds = { traceback: 5000, error: 2500, warning: 2500 }

/** Fingerprints Redis keeps per kind and app: 10 000 in all. */
export const REDIS_MAX_FINGERPRINTS: KindBounds = { traceback: 5000, error: 2500, warning: 2500 }

/** Incidents Redis can look up per kind and app: 100 000 in all. */
export const REDIS_MAX_INCIDENTS: KindBounds = { traceback: 50_000, error: 25_000, warning: 25_000 }

/** Bounds per kind from a single number (the same for every kind) or a partial record; at least 1 each. */
export function kindBounds(
  value: number | Partial<Record<ReportKind, number>> | undefined,
  defaults: KindBounds,
): KindBounds {
  const pick = (kind: ReportKind) => {
    const given = typeof value === 'number' ? value : value?.[kind]
    return Math.max(1, Math.floor(given ?? defaults[kind]))
  }
  return { traceback: pick('traceback'), error: pick('error'), warning: pick('warning') }
}

/**
 * The kind whose bound a report counts against. A kind faultline does not
 * make counts as a warning: whatever it is, it cannot take a traceback's room.
 */
export function boundKindOf(kind: unknown): ReportKind {
  return kind === 'traceback' || kind === 'error' ? kind : 'warning'
}
