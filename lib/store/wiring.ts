import { noticeOf, type NoticeChannel } from '../notices.js'
import type TransportStream from 'winston-transport'
import type { Report } from '../report/report.js'
import type { Store } from './types.js'

/** The incident view links each error to its ticket: the ticket transport says which, once it knows. */
export function linkTickets(store: Store, transports: readonly TransportStream[]): void {
  for (const transport of transports)
    if ((transport as { name?: string }).name === 'tickets')
      transport.on('ticket', (ticket: { fingerprint: string; id: string; url?: string }) => {
        const { fingerprint, ...ref } = ticket
        store.linkTicket(fingerprint, ref).catch(() => {})
      })
}

/** Counts a report where the incident view and `issues()` read: never on the request path, never fatal. */
export function countReport(store: Store, report: Report, say: NoticeChannel): void {
  store.record(report).catch((err: unknown) => {
    say(
      noticeOf(
        'FAULTLINE_STORE_FAILED',
        `could not count report ${report.id} in the store: ${err instanceof Error ? err.message : String(err)}`,
      ),
    )
  })
}
