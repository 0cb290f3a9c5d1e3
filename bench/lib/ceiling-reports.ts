/**
 * The reports bench/fleet-ceiling.ts feeds the stores: a storm and a spread.
 * Three of every five are one traceback (the storm), sent as the compact
 * repeats the reporter makes of a storm after its first full report; the
 * other two are spread over 20 errors of every kind, each a full report
 * (about 1 KB, a dozen frames). Every report is its own incident.
 */
import type { Report, ReportKind } from '../../lib/report/report.js'

/** Every fingerprint the bench makes starts with this: the read-back counts them apart from the app's own. */
export const FINGERPRINT_PREFIX = 'ce11'
const SPREAD = 20
const KINDS: ReportKind[] = ['traceback', 'error', 'warning']

const STACK = [
  'TypeError: Cannot read properties of undefined (reading "total")',
  ...Array.from(
    { length: 12 },
    (_, i) => `    at handler${i} (/srv/shop/routes/orders-${i}.js:${40 + i}:${7 + i})`,
  ),
].join('\n')

function fingerprintOf(n: number): string {
  return `${FINGERPRINT_PREFIX}${n.toString(16).padStart(12, '0')}`
}

function templateOf(n: number, kind: ReportKind): Report {
  const route = `/orders/:id/step${n}`
  return {
    id: '',
    kind,
    level: kind === 'warning' ? 'warn' : 'error',
    status: kind === 'warning' ? 404 : 500,
    message: `${kind === 'warning' ? 'Not Found' : 'TypeError: Cannot read properties'} ${n}`,
    fingerprint: fingerprintOf(n),
    time: '',
    app: 'fleet',
    host: 'bench',
    pid: process.pid,
    request: {
      method: 'GET',
      url: `/orders/1234/step${n}?page=2`,
      route,
      xhr: false,
      headers: { 'user-agent': 'Mozilla/5.0 (bench)', accept: 'text/html', host: 'shop.example' },
    },
    ...(kind === 'warning' ? {} : { error: { name: 'TypeError', message: 'boom', stack: STACK } }),
  }
}

/** An endless sequence of fresh reports (their own id and time), for one OS process. */
export function reportsOf(worker: number): { next(): Report } {
  const storm = templateOf(0, 'traceback')
  const spread = Array.from({ length: SPREAD }, (_, i) => templateOf(i + 1, KINDS[i % 3]!))
  const { headers: _headers, ...compactRequest } = storm.request!
  let seq = 0
  let firstStormId: string | undefined
  return {
    next() {
      seq++
      const id = `W${worker}-${seq.toString(36).toUpperCase().padStart(8, '0')}`
      const time = new Date().toISOString()
      if (seq % 5 < 2) return { ...spread[seq % SPREAD]!, id, time }
      if (!firstStormId) return { ...storm, id: (firstStormId = id), time }
      return { ...storm, request: compactRequest, id, time, repeatOf: firstStormId }
    },
  }
}
