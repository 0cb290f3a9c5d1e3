import type { Report } from './report.js'

/**
 * What an operator reads about a report tied to its request by the async
 * context only (mail, tickets, the incident view); nothing for an exact one,
 * which needs no warning.
 */
export function describeAttribution(report: Pick<Report, 'attribution'>): string | undefined {
  if (report.attribution !== 'async-context') return undefined
  return (
    'tied to this request by async context only: it may belong to another request ' +
    'on a shared connection (a pool socket another request opened); wrap such callbacks ' +
    'with faultline.bind to tie them exactly'
  )
}
