/**
 * Where a faultline instance sends its reports, read off its winston logger
 * rather than off the options: `FAULTLINE_FILE` in the environment may have
 * moved the file, and the demo should name the place reports really go.
 */
import { isAbsolute, join, relative } from 'node:path'
import { StderrTransport, type Faultline } from '../../lib/index.js'
import { MailTransport } from '../../transports/mail.js'
import { LocalTicketAdapter } from '../../transports/ticket/local.js'
import { TicketTransport } from '../../transports/ticket.js'

/**
 * The report file: its absolute path, and the path to show (relative to the
 * working directory when it lies inside it). Read by shape, a transport with a
 * `filename`, so it finds faultline's own FileTransport (an absolute
 * `filename`) as well as winston's File transport (`dirname` + `filename`).
 */
export function reportFile(faultline: Faultline): { path: string; shown: string } | undefined {
  for (const transport of faultline.logger.transports) {
    const { filename, dirname } = transport as { filename?: unknown; dirname?: unknown }
    if (typeof filename !== 'string' || filename === '') continue
    const path = isAbsolute(filename)
      ? filename
      : join(typeof dirname === 'string' ? dirname : process.cwd(), filename)
    const rel = relative(process.cwd(), path)
    return { path, shown: rel && !rel.startsWith('..') ? rel : path }
  }
  return undefined
}

/** The stderr transport, when reports go to stderr. */
export function stderrTransport(faultline: Faultline): StderrTransport | undefined {
  return faultline.logger.transports.find((t): t is StderrTransport => t instanceof StderrTransport)
}

/** The directory mails are written to as .eml files, when mail goes to an outbox. */
export function mailOutbox(faultline: Faultline): { path: string; shown: string } | undefined {
  const mail = faultline.logger.transports.find(
    (t): t is MailTransport => t instanceof MailTransport,
  )
  const path = mail?.settings.outbox
  if (!path) return undefined
  const rel = relative(process.cwd(), path)
  return { path, shown: rel && !rel.startsWith('..') ? rel : path }
}

/** The local tracker's directory, when tickets go to the embedded tracker. */
export function ticketDir(faultline: Faultline): { path: string; shown: string } | undefined {
  const tickets = faultline.logger.transports.find(
    (t): t is TicketTransport => t instanceof TicketTransport,
  )
  if (!(tickets?.adapter instanceof LocalTicketAdapter)) return undefined
  const path = tickets.adapter.dir
  const rel = relative(process.cwd(), path)
  return { path, shown: rel && !rel.startsWith('..') ? rel : path }
}
