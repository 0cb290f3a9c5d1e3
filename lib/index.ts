/**
 * faultline: error handling for production Express apps.
 * @module
 */
import { Faultline } from './faultline.js'
import type { FaultlineOptions } from './config/options.js'

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

export { Faultline, type CloseOptions } from './faultline.js'
export { classifyOutcome, type OutcomeFacts, type OutcomeClass } from './report/classify.js'
export { getErrorStatus, getResponseStatus } from './report/error-status.js'
export { computeFingerprint, normalizeMessage } from './report/fingerprint.js'
export { createIncidentId } from './report/incident-id.js'
export { FaultlineConfigError, type FaultlineOptions, type WarningLimitOptions, type TransportSetting } from './config/options.js'
export type { Report, ReportKind, Locus, RequestInfo, LoggedMessage } from './report/report.js'
export { compileScrubber, type ScrubOptions, type Scrubber } from './scrub/scrub.js'
export { serializeError, type SerializedError } from './report/serialize-error.js'
export { THROW_ERRORS, shouldThrow } from './middleware/throw-errors.js'
export type { ErrorHandlerOptions, ErrorPageContext } from './middleware/error-handler.js'
export type { PageType } from './pages/error-page.js'
export { SuspiciousRequest, detectProbe, type SuspiciousRequestOptions, type SuspiciousCategory } from './report/suspicious.js'
export { StderrTransport, type StderrTransportOptions } from '../transports/stderr.js'
export { FileTransport, createFileTransport, type FileTransportOptions } from '../transports/file.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** A winston child logger bound to the request; its errors and warnings join the request's report. */
      log: import('winston').Logger
    }
  }
}
