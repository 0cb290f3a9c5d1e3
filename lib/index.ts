/**
 * faultline: error handling for production Express apps.
 * @module
 */
// Composition root, with lib/faultline.ts and lib/logger.ts: the only files in lib/ that know the
// transports. The rest of the core knows a destination only through lib/contract/.
import { Faultline } from './faultline.js'
import type { FaultlineOptions } from './logger.js'

/**
 * Creates a faultline instance: validates the options (a bad one throws a
 * `FaultlineConfigError` naming it), builds the logger and its transports.
 *
 * @example
 * ```ts
 * const faultline = createFaultline({ appName: 'shop', file: 'var/log/shop-errors.log' })
 * app.use(faultline.requestHandler())
 * app.get('/orders/:id', showOrder)
 * app.use(faultline.errorHandler())
 * ```
 */
export function createFaultline(options?: FaultlineOptions): Faultline {
  return new Faultline(options)
}

// values, then types: everything README.md documents, and nothing deeper
export { Faultline } from './faultline.js'
export { getErrorStatus } from './report/error-status.js'
export { FaultlineConfigError } from './config/config-error.js'
export { THROW_ERRORS, shouldThrow } from './middleware/throw-errors.js'
export { SuspiciousRequest } from './report/suspicious.js'
export { StderrTransport } from '../transports/stderr.js'
export { FileTransport, createFileTransport } from '../transports/file.js'
export { MailTransport } from '../transports/mail.js'
export { SyslogTransport } from '../transports/syslog.js'
export { TicketTransport } from '../transports/ticket.js'
export { TicketError } from '../transports/ticket/adapter.js'
export { LocalTicketAdapter } from '../transports/ticket/local.js'
export { RedmineAdapter } from '../transports/ticket/redmine.js'
export { TracAdapter } from '../transports/ticket/trac.js'
export { NOTICE_CODES } from './notices.js'

export type { CloseOptions } from './faultline.js'
export type { Notice, NoticeCode, NoticesOption } from './notices.js'
export type { FaultlineStats, FaultlineTransportStats } from './contract/read-stats.js'
export type { TransportStats, ReportTransport } from './contract/transport-contract.js'
export type { FaultlineOptions } from './logger.js'
export type { WarningLimitOptions, StoreOptions } from './config/options.js'
export type {
  IssueDetail,
  IssueQuery,
  IssueStatus,
  IssueSummary,
  StoredOccurrence,
  StoreStatus,
} from './store/types.js'
export type {
  Attribution,
  Report,
  ReportKind,
  Locus,
  RequestInfo,
  LoggedMessage,
} from './report/report.js'
export type { ScrubOptions } from './scrub/scrub.js'
export type { SerializedError } from './report/serialize-error.js'
export type { ErrorHandlerOptions, ErrorPageContext } from './middleware/error-handler.js'
export type { NotFoundOptions } from './middleware/not-found.js'
export type { DashboardOptions } from './dashboard/index.js'
export type { PageType } from './pages/error-page.js'
export type { SuspiciousRequestOptions, SuspiciousCategory } from './report/suspicious.js'
export type { StderrTransportOptions } from '../transports/stderr.js'
export type { FileTransportOptions, FileStats } from '../transports/file/options.js'
export type { MailTransportOptions } from '../transports/mail.js'
export type { MailOptions } from '../transports/mail/options.js'
export type { SyslogTransportOptions, SyslogOptions } from '../transports/syslog/options.js'
export type { TicketStats } from '../transports/ticket.js'
export type { TicketTransportOptions, TicketOptions } from '../transports/ticket/options.js'
export type { TicketAdapter, TicketRef, NewTicket } from '../transports/ticket/adapter.js'
export type { LocalTicket } from '../transports/ticket/local.js'
export type { RedmineOptions } from '../transports/ticket/redmine.js'
export type { TracOptions, TracFields } from '../transports/ticket/trac.js'

/**
 * Where faultline's request logger is typed on `req`. `req.faultline` always;
 * `req.log` too, unless another library's types already give Node's
 * `IncomingMessage` a `log` (pino-http's do): then `req.log` keeps that
 * library's type, as it keeps its logger at run time.
 *
 * @example
 * ```ts
 * app.get('/orders/:id', (req, res) => {
 *   req.faultline.info('order shown') // with pino-http, req.log is pino's
 *   res.send('ok')
 * })
 * ```
 */
export interface FaultlineRequestFields {
  /** A winston child logger bound to the request; its errors and warnings join the request's report. */
  faultline: import('winston').Logger
}

// a second, different `log` on the same request is a type error (TS2320) in every app that also uses pino-http
type RequestLogField = import('node:http').IncomingMessage extends { log: unknown }
  ? object
  : { /** faultline's request logger, as `req.faultline`. */ log: import('winston').Logger }

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request extends FaultlineRequestFields, RequestLogField {}
  }
}
