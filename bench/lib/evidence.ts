/**
 * What each contender must have recorded for the requests it served, so no
 * contender wins by doing nothing. Each route makes a known number of records
 * per request; the expected count of each record is the sum over the routes
 * the process served (one route under wrk, all five in smoke mode). Requests
 * are counted by the server itself, warm-up included, since the evidence
 * covers the whole life of the process. Under wrk a few requests can be cut
 * off when the load stops (a client abort is no error), so a count may fall
 * short by `slack`, never exceed.
 */
import type { Evidence } from './routes.js'

type PerRequest = Partial<Record<string, Record<string, number>>>

// file.lines and file.distinctIds are checked against the reports exactly, below: the warning limit's summary is a line of its own
const FAULTLINE_TRACEBACK = { 'reports.traceback': 1, 'file.traceback': 1 }
const FAULTLINE: PerRequest = {
  // under the warning limit a 404 is reported, or counted by the summary that says what was held back
  '/missing': { 'warnings.accounted': 1 },
  '/boom': FAULTLINE_TRACEBACK,
  '/async-boom': FAULTLINE_TRACEBACK,
  '/hand': { 'reports.error': 1, 'file.error': 1 },
}
const WINSTON_THROWN = { 'file.thrown': 1, 'file.error': 1, 'file.lines': 1 }
const PINO_THROWN = { 'file.withErr': 1, 'file.error': 1, 'file.lines': 1 }

const FLOOR_LINE = { 'file.lines': 1, 'file.distinctIds': 1 }

const PER_REQUEST: Record<string, PerRequest> = {
  faultline: FAULTLINE,
  // a line with its own id for every 4xx and 5xx
  floor: {
    '/missing': FLOOR_LINE,
    '/boom': FLOOR_LINE,
    '/async-boom': FLOOR_LINE,
    '/hand': FLOOR_LINE,
  },
  'faultline-all': FAULTLINE,
  'express-winston': {
    '/missing': { 'file.warn': 1, 'file.lines': 1 },
    '/boom': WINSTON_THROWN,
    '/async-boom': WINSTON_THROWN,
    '/hand': { 'file.hand': 1, 'file.error': 1, 'file.lines': 1 },
  },
  'pino-http': {
    '/missing': { 'file.warn': 1, 'file.lines': 1 },
    '/boom': PINO_THROWN,
    '/async-boom': PINO_THROWN,
    // pino-http writes its own 500 line besides the route's error line
    '/hand': { 'file.hand': 1, 'file.withErr': 1, 'file.error': 2, 'file.lines': 2 },
  },
  // Sentry records no event for a 404
  sentry: {
    '/boom': { 'sink.events': 1 },
    '/async-boom': { 'sink.events': 1 },
    '/hand': { 'sink.events': 1 },
  },
}

const ERROR_ROUTES = ['/boom', '/async-boom', '/hand']

export interface Check {
  what: string
  actual: number
  expected: number
  /** `eq`: equal, or short by at most the slack; `exact`: equal; `min`: at least expected. */
  rule: 'eq' | 'exact' | 'min'
}

export function expectedChecks(contender: string, evidence: Evidence): Check[] {
  const served = Object.entries(evidence.requests).filter(([, n]) => n > 0)
  const perRequest = PER_REQUEST[contender] ?? {}
  const keys = new Set(Object.values(perRequest).flatMap((records) => Object.keys(records ?? {})))
  const checks: Check[] = []
  for (const key of keys) {
    const expected = served.reduce(
      (sum, [route, n]) => sum + n * (perRequest[route]?.[key] ?? 0),
      0,
    )
    checks.push({ what: key, actual: evidence.counts[key] ?? 0, expected, rule: 'eq' })
  }
  const faultline = contender === 'faultline' || contender === 'faultline-all'
  if (faultline) {
    // no slack here: a report missing from the file was lost, a repeated id is a collision
    const reports = ['warning', 'error', 'traceback'].reduce(
      (sum, kind) => sum + (evidence.counts[`reports.${kind}`] ?? 0),
      0,
    )
    checks.push({
      what: 'file.lines (= reports)',
      actual: evidence.counts['file.lines'] ?? 0,
      expected: reports,
      rule: 'exact',
    })
    checks.push({
      what: 'file.distinctIds (= file.lines)',
      actual: evidence.counts['file.distinctIds'] ?? 0,
      expected: evidence.counts['file.lines'] ?? 0,
      rule: 'exact',
    })
  }
  const errors = served.some(([route]) => ERROR_ROUTES.includes(route))
  // mails are throttled per fingerprint: at least the first occurrence goes out at once
  if (faultline && errors)
    checks.push({ what: 'mails', actual: evidence.counts.mails ?? 0, expected: 1, rule: 'min' })
  // syslog over UDP may drop under load, so at least the first; a ticket per distinct traceback
  if (contender === 'faultline-all' && errors)
    checks.push({
      what: 'syslog.datagrams',
      actual: evidence.counts['syslog.datagrams'] ?? 0,
      expected: 1,
      rule: 'min',
    })
  if (contender === 'faultline-all' && served.some(([r]) => r === '/boom' || r === '/async-boom'))
    checks.push({ what: 'tickets', actual: evidence.counts.tickets ?? 0, expected: 1, rule: 'min' })
  // Dedupe keeps only the first of identical events in a row
  if (contender === 'sentry-dedupe' && errors)
    checks.push({
      what: 'sink.events',
      actual: evidence.counts['sink.events'] ?? 0,
      expected: 1,
      rule: 'min',
    })
  return checks
}

/** The problems with a contender's evidence, empty when it proved its work. */
export function judge(contender: string, evidence: Evidence, slack: number): string[] {
  return expectedChecks(contender, evidence)
    .filter((check) => {
      if (check.rule === 'min') return check.actual < check.expected
      if (check.rule === 'exact') return check.actual !== check.expected
      return check.actual > check.expected || check.actual < check.expected - slack
    })
    .map(
      (check) =>
        `${contender}: ${check.what} is ${check.actual}, expected ${check.rule === 'min' ? 'at least ' : ''}${check.expected}`,
    )
}

/** The evidence in a few words for the table: the count that proves the work on this route. */
export function evidenceSummary(contender: string, route: string, evidence: Evidence): string {
  const n = evidence.requests[route] ?? 0
  const c = (key: string) => evidence.counts[key] ?? 0
  switch (contender) {
    case 'faultline':
    case 'faultline-all': {
      const held = c('warnings.heldBack') ? ` (+${c('warnings.heldBack')} held back)` : ''
      const all =
        contender === 'faultline-all'
          ? `, ${c('syslog.datagrams')} syslog, ${c('tickets')} tickets`
          : ''
      return `${c('reports.warning') + c('reports.error') + c('reports.traceback')} reports${held}, ${c('file.distinctIds')} ids, ${c('mails')} mails${all} / ${n} req`
    }
    case 'floor':
      return `${c('file.distinctIds')} ids / ${n} req`
    case 'express-winston':
    case 'pino-http':
      return `${c('file.lines')} lines / ${n} req`
    case 'sentry':
    case 'sentry-dedupe':
      return `${c('sink.events')} events / ${n} req`
    default:
      return `${n} req`
  }
}
