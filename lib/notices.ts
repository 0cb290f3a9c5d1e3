import { escapeControl } from './report/control-chars.js'

/**
 * Every code a notice can carry, and what it says. Codes are stable: match on
 * them, not on the wording.
 *
 * @example
 * ```ts
 * createFaultline({ notices: (n) => n.code in NOTICE_CODES && alerts.send(n.code, n.message) })
 * ```
 */
export const NOTICE_CODES = {
  FAULTLINE_STARTED: 'the start-up line: where reports go',
  FAULTLINE_DEBUG_IN_PRODUCTION: 'debug mode is on while NODE_ENV=production',
  FAULTLINE_RENAMED_OPTION: 'an option past start-up (`close({ timeout })`) uses its old name',
  FAULTLINE_NOTICES_FAILED: 'the `notices` function threw; the notice went to stderr',
  FAULTLINE_STORE_DOWN: 'the shared store is unavailable; each process counts and alerts alone',
  FAULTLINE_STORE_BACK: 'the shared store answers again; sharing resumes',
  FAULTLINE_STORE_FAILED: 'a report could not be counted in the store',
  FAULTLINE_STORE_CLIENT_KEPT:
    "a Redis call missed its deadline on the app's own client, which faultline does not replace (said once)",
  FAULTLINE_VIEW_FAILED: 'the incident view could not answer (its store failed)',
  FAULTLINE_REPORT_FAILED: "a request's outcome, a warning or an error could not be reported",
  FAULTLINE_LOGGER_THREW: "the app's logger (`logger` option) threw",
  FAULTLINE_LISTENER_THREW: "a 'report' listener threw",
  FAULTLINE_CRASH_REPORT_FAILED: 'the crash report could not be written',
  FAULTLINE_DELIVERY_FAILED: 'a report could not be handed to a transport, or spooled',
  FAULTLINE_TRANSPORT_FAILED: "a transport emitted 'error' (said once per transport)",
  FAULTLINE_TRANSPORT_WARNING: "a transport of the app's own emitted 'warn'",
  FAULTLINE_CLOSE_FAILED: 'a transport threw while closing',
  FAULTLINE_MAIL_DOWN: 'the SMTP server fails; mails are kept and retried',
  FAULTLINE_MAIL_BACK: 'mail works again',
  FAULTLINE_MAIL_DROPPED: 'mails were dropped (queue full or retried too long)',
  FAULTLINE_MAIL_SPOOL_FAILED: 'the mail spool cannot be written; mails wait in memory',
  FAULTLINE_MAIL_STORE_FAILED: 'the shared store failed for mail; mails go out unshared',
  FAULTLINE_MAIL_UNDELIVERED: 'mails were still undelivered at shutdown',
  FAULTLINE_SYSLOG_DOWN: 'the syslog receiver is unreachable; messages are queued',
  FAULTLINE_SYSLOG_BACK: 'the syslog receiver is reachable again',
  FAULTLINE_SYSLOG_DROPPED: 'syslog messages were dropped while the receiver was unreachable',
  FAULTLINE_SYSLOG_SPOOL_FAILED: 'the syslog spool cannot be written; messages wait in memory',
  FAULTLINE_SYSLOG_PROTOCOL_ERROR: 'the RELP receiver broke the protocol; the session was dropped',
  FAULTLINE_SYSLOG_FAILED: 'a syslog message could not be sent (UDP, or framing)',
  FAULTLINE_SYSLOG_UNDELIVERED: 'syslog messages were still undelivered at shutdown',
  FAULTLINE_TICKETS_DOWN: 'the tracker fails; ticket work is kept and retried',
  FAULTLINE_TICKETS_BACK: 'the tracker answers again',
  FAULTLINE_TICKETS_DROPPED: 'ticket operations were dropped (queue full or retried too long)',
  FAULTLINE_TICKETS_SPOOL_FAILED: "the tracker's spool cannot be written; work waits in memory",
  FAULTLINE_TICKETS_REFUSED: 'the tracker refuses for good (a bad key, a missing project)',
  FAULTLINE_TICKETS_STORE_FAILED: 'the shared store failed for tickets',
  FAULTLINE_TICKETS_UNDELIVERED: 'ticket operations were still undelivered at shutdown',
  FAULTLINE_FILE_BEHIND: 'the file cannot keep up; later lines are dropped and counted',
  FAULTLINE_FILE_DOWN: 'the file cannot be written; lines wait in memory',
  FAULTLINE_FILE_BACK: 'the file can be written again',
  FAULTLINE_FILE_LOST: 'lines could not be written at shutdown',
  FAULTLINE_STDERR_FAILED: 'stderr could not be written',
  FAULTLINE_PAGE_SHOWS_STACK:
    "the app's own 5xx page showed the stack of the error faultline was given (said once)",
  FAULTLINE_EXPRESS4_PROMISES_UNFOLLOWED:
    "Express 4's router could not be taught to pass on returned promises' rejections",
} as const

/**
 * A code of `NOTICE_CODES`.
 *
 * @example
 * ```ts
 * const paging: NoticeCode[] = ['FAULTLINE_STORE_DOWN', 'FAULTLINE_MAIL_DROPPED']
 * ```
 */
export type NoticeCode = keyof typeof NOTICE_CODES

/**
 * One operator notice: a store outage, a transport that drops, a renamed
 * option. `text` is what stderr gets by default (without the newline).
 *
 * @example
 * ```ts
 * createFaultline({ notices: ({ code, message }) => log.warn({ code }, message) })
 * ```
 */
export interface Notice {
  code: NoticeCode
  /** The notice in one line, without the `faultline: ` prefix; control characters escaped. */
  message: string
  /** The text printed on stderr by default: `faultline: ` and the message. */
  text: string
  /** For a transport's notice, the transport's name (`mail`, `syslog`, `tickets`, `file`, `stderr`). */
  transport?: string
}

/**
 * Where notices go: a function, `'stderr'` (the default), `'emitWarning'`
 * (`process.emitWarning` with the code, as Node's own warnings), or `false`
 * for none.
 *
 * @example
 * ```ts
 * createFaultline({ notices: 'emitWarning' }) // process.on('warning', (w) => w.code === 'FAULTLINE_STORE_DOWN' && page())
 * ```
 */
export type NoticesOption = ((notice: Notice) => void) | 'stderr' | 'emitWarning' | false

/** A resolved channel: says a notice, never throws. */
export type NoticeChannel = (notice: Notice) => void

// a receiver's message quoted whole could flood a terminal: one notice stays one readable line
const MAX_MESSAGE = 4096

/** A notice with its code; `message` is escaped and bounded here, whatever it quotes. */
export function noticeOf(code: NoticeCode, message: string, transport?: string): Notice {
  const bounded =
    message.length > MAX_MESSAGE
      ? `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters)`
      : message
  const line = escapeControl(bounded)
  return {
    code,
    message: line,
    text: `faultline: ${line}`,
    ...(transport ? { transport } : {}),
  }
}

function writeStderr(notice: Notice): void {
  try {
    process.stderr.write(`${notice.text}\n`)
  } catch {
    // stderr itself is gone (a closed pipe): there is nowhere left to say it
  }
}

/** The default channel: each notice on stderr, as one line (a banner keeps its own lines). */
export const stderrNotices: NoticeChannel = writeStderr

function emitWarning(notice: Notice): void {
  try {
    process.emitWarning(notice.text, { code: notice.code, type: 'FaultlineWarning' })
  } catch {
    writeStderr(notice)
  }
}

/** Checks the `notices` option at start-up; `field` names it in the error. */
export function isNoticesOption(value: unknown): value is NoticesOption {
  return (
    value === undefined ||
    value === false ||
    value === 'stderr' ||
    value === 'emitWarning' ||
    typeof value === 'function'
  )
}

/**
 * The channel an option asks for. An app's function that throws loses
 * nothing: the notice goes to stderr, and so, once, does the failure.
 */
export function noticeChannel(option: NoticesOption | undefined): NoticeChannel {
  if (option === undefined || option === 'stderr') return stderrNotices
  if (option === false) return () => {}
  if (option === 'emitWarning') return emitWarning
  let failureSaid = false
  return (notice) => {
    try {
      option(notice)
    } catch (err) {
      writeStderr(notice)
      if (failureSaid) return
      failureSaid = true
      writeStderr(
        noticeOf(
          'FAULTLINE_NOTICES_FAILED',
          `the "notices" function threw, so notices go to stderr when it does: ${describe(err)}`,
        ),
      )
    }
  }
}

function describe(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err)
  } catch {
    return 'an unprintable value'
  }
}

/** Where a transport's notices go: set by its `notices` option, or by the faultline it joins. */
const CHANNEL = Symbol.for('faultline.notices')
/** Marks a transport's 'warn' error already said, so the logger it is on does not say it twice. */
const SAID = Symbol.for('faultline.noticeSaid')

type WithChannel = { [CHANNEL]?: NoticeChannel }

/** Gives a transport its own channel (its `notices` option); without one it takes its faultline's, else stderr. */
export function setTransportNotices(transport: object, option: NoticesOption | undefined): void {
  if (option !== undefined) (transport as WithChannel)[CHANNEL] = noticeChannel(option)
}

/** A faultline's channel for a transport it is given, unless the transport has its own. */
export function adoptTransport(transport: object, channel: NoticeChannel): void {
  const holder = transport as WithChannel
  if (!Object.prototype.hasOwnProperty.call(holder, CHANNEL)) holder[CHANNEL] = channel
}

/**
 * A transport's notice: said through its channel, and emitted as a `warn`
 * event with the code, as winston transports do (an app listening to its
 * logger's `warn` still hears it).
 */
export function sayFrom(
  transport: { name: string; emit(event: 'warn', err: Error): unknown },
  code: NoticeCode,
  message: string,
): void {
  const channel = (transport as WithChannel)[CHANNEL] ?? stderrNotices
  channel(noticeOf(code, `${transport.name}: ${message}`, transport.name))
  const err = Object.assign(new Error(message), { code, [SAID]: true })
  transport.emit('warn', err)
}

/** Whether a transport's `warn` error was already said through a channel. */
export function wasSaid(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { [SAID]?: unknown })[SAID] === true
}
