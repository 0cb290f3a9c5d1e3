import { sayFrom, setTransportNotices, type NoticesOption } from '../lib/notices.js'
import type { Transporter } from 'nodemailer'
import TransportStream from 'winston-transport'
import { describeMailError } from './mail/errors.js'
import { composeDigestMail, composeHeldBackMail, composeReportMail } from './mail/format.js'
import { messageOf, writeEml, type MailUnit } from './mail/message.js'
import { resolveMailOptions, type MailOptions, type ResolvedMailOptions } from './mail/options.js'
import { MailThrottle, type MailThrottleSink } from './mail/throttle.js'
import { openTransporter, sendWithin } from './mail/send-deadline.js'
import { settleWithin } from '../lib/contract/deadline.js'
import { Delivery, type DeliveryStats } from './delivery/delivery.js'
import { LoggedLedger } from './delivery/logged-ledger.js'
import { Spool } from './delivery/spool.js'
import { undeliveredAtShutdown, type ReportTransport } from '../lib/contract/transport-contract.js'
import { isReport } from '../lib/report/report.js'
import { reportOf } from '../lib/report/from-record.js'
import type { FleetCoordination } from '../lib/store/types.js'

/**
 * Options of the mail transport: the `mail` settings, plus who it mails for and where it spools.
 *
 * @example
 * ```ts
 * // a transport of the app's own has no spool unless named: unsent mails would die with it
 * faultline.logger.add(new MailTransport({ url: 'smtp://mail.example.org:587', appName: 'shop',
 *   managers: ['ops@example.org'], spoolDir: 'var/spool/mail' }))
 * ```
 */
export interface MailTransportOptions extends MailOptions {
  /** Default recipients when `to` is not given. */
  managers?: string[]
  /** Used in the sender's name. Default `app`. */
  appName?: string
  /** The directory where undelivered mails wait across crashes and restarts; none keeps them in memory only. */
  spoolDir?: string
  /** The only directory whose source files a mail may quote. Default `process.cwd()`. */
  appRoot?: string
  /** Where this transport's notices go when it is not one of a faultline's (which gives it its own `notices`). Default stderr. */
  notices?: NoticesOption
  /**
   * The fleet's shared store: with it, the first occurrence of an error is
   * mailed once for every process, one process sends each window's digest
   * with every process's count, and the ceiling counts the fleet's mails.
   */
  coordination?: FleetCoordination
  /**
   * Errors muted in the incident view: their reports are not mailed (they are
   * still counted and logged elsewhere) until the mute ends.
   */
  muted?: (fingerprint: string) => boolean
}

const MAX_QUEUE = 1000
const CLOSE_MS = 2000

/**
 * Mails errors and tracebacks to the managers through nodemailer, never on
 * the request path: reports are throttled per fingerprint (first one at once,
 * the rest in one digest per window, a ceiling per hour), then handed to the
 * shared delivery line (spooled, sent in the background, retried with capped
 * backoff). Without an SMTP server (`outbox`), each mail is written as an
 * `.eml` file instead.
 *
 * `logged` is emitted with a report once the mail that carries it is
 * delivered: its own mail, or the digest (or held-back summary) it was
 * counted into, minutes later.
 *
 * @example
 * ```ts
 * new MailTransport({ url: 'smtp://user:pass@mail.example.org:587', managers: ['ops@example.org'] })
 * ```
 */
export class MailTransport extends TransportStream implements ReportTransport {
  readonly name = 'mail'
  readonly settings: ResolvedMailOptions
  readonly #throttle: MailThrottle
  #transporter: Transporter
  #deadlinesMissed = 0
  readonly #delivery: Delivery<MailUnit>
  readonly #appRoot: string | undefined
  readonly #logged = new LoggedLedger(this)
  readonly #muted: ((fingerprint: string) => boolean) | undefined
  readonly #appName: string

  constructor(options: MailTransportOptions) {
    const {
      managers = [],
      appName = 'app',
      spoolDir,
      appRoot,
      coordination,
      muted,
      notices,
      ...setting
    } = options
    const settings = resolveMailOptions(setting as Record<string, unknown>, { managers, appName })
    super({ level: settings.warnings ? 'warn' : 'error' })
    setTransportNotices(this, notices)
    this.#muted = muted
    this.#appName = appName
    this.settings = settings
    this.#appRoot = appRoot
    this.#transporter = openTransporter(settings.smtp)
    this.#delivery = new Delivery<MailUnit>({
      send: (unit) => this.#deliver(unit),
      ...(spoolDir ? { spool: new Spool<MailUnit>({ dir: spoolDir }) } : {}),
      maxQueue: MAX_QUEUE,
      maxRetryMs: settings.attempts * 60_000,
      // one line per outage, never one per mail, and never through this transport itself
      events: {
        down: (err) =>
          sayFrom(
            this,
            'FAULTLINE_MAIL_DOWN',
            `mail to ${settings.target} failed: ${describeMailError(err, settings.target)}; retrying with backoff`,
          ),
        up: () => sayFrom(this, 'FAULTLINE_MAIL_BACK', `mail to ${settings.target} works again`),
        dropped: (count) =>
          sayFrom(
            this,
            'FAULTLINE_MAIL_DROPPED',
            `${count} mail(s) to ${settings.target} were dropped (queue full or retried too long)`,
          ),
        ...this.#logged.events(),
        spoolFailed: (err) =>
          sayFrom(
            this,
            'FAULTLINE_MAIL_SPOOL_FAILED',
            `the mail spool cannot be written (${err.message}); mails wait in memory meanwhile`,
          ),
      },
    })
    const limits = {
      windowMs: settings.digestWindowMs,
      maxPerPeriod: settings.maxPerHour,
      periodMs: settings.ceilingPeriodMs,
    }
    let elsewhere = 0
    const sink: MailThrottleSink = {
      sendReport: (report) =>
        this.#push(
          {
            mail: composeReportMail(report, appRoot),
            incident: report.id,
            fingerprint: report.fingerprint,
          },
          [report.fingerprint],
        ),
      sendDigest: (digest) =>
        this.#push(
          {
            mail: composeDigestMail(digest),
            incident: digest.first.id,
            fingerprint: digest.fingerprint,
          },
          [digest.fingerprint],
        ),
      sendHeldBack: (held) =>
        this.#push(
          { mail: composeHeldBackMail(held, appName, 'localhost') },
          held.fingerprints.map((f) => f.fingerprint),
        ),
      // another process's digest counts them: announced as taken, since that process delivers it
      countedElsewhere: (fingerprint) => {
        const key = `elsewhere:${fingerprint}:${++elsewhere}`
        this.#logged.carry(key, [fingerprint])
        this.#logged.delivered(key)
      },
    }
    // without a shared store the same rules run on this process's own state, answered at once
    this.#throttle = new MailThrottle(limits, sink, coordination, (err) =>
      sayFrom(this, 'FAULTLINE_MAIL_STORE_FAILED', err.message),
    )
  }

  // on a plain winston logger, `logger.error('database is down')` is mailed as a hand-written error
  override log(record: Record<string, unknown>, callback: () => void): void {
    const info = reportOf(record, this.#appName) ?? record
    if (isReport(info) && this.#muted?.(info.fingerprint)) this.emit('logged', info)
    else if (isReport(info)) {
      this.#logged.gather(info.fingerprint, info)
      this.#throttle.add(info)
    }
    callback()
  }

  /** For a process about to die: the report's mail goes straight to the spool, past the throttle. */
  logSync(record: Record<string, unknown>): void {
    const info = reportOf(record, this.#appName)
    if (!info || (info.kind === 'warning' && !this.settings.warnings)) return
    const mail = composeReportMail(info, this.#appRoot)
    this.#delivery.pushSync(mail.messageId, {
      mail,
      incident: info.id,
      fingerprint: info.fingerprint,
    })
  }

  /** Queues one mail; the reports of `fingerprints` gathered so far are `logged` once it is delivered. */
  #push(unit: MailUnit, fingerprints: string[]): void {
    this.#logged.carry(unit.mail.messageId, fingerprints)
    this.#delivery.push(unit.mail.messageId, unit)
  }

  /** Delivered, queued, spooled, retried and dropped counts. */
  stats(): DeliveryStats {
    return this.#delivery.stats()
  }

  async #deliver(unit: MailUnit): Promise<void> {
    const message = messageOf(unit, this.settings)
    const transporter = this.#transporter
    const info = await sendWithin(transporter, message, this.settings.sendMs, () =>
      this.#dropTransporter(transporter),
    )
    const outbox = this.settings.outbox
    if (outbox) writeEml(outbox, unit.mail, (info as unknown as { message: Buffer }).message)
  }

  /**
   * A send missed its deadline: its connection is closed with the send on it
   * (never handed back to the pool), and later mails go through a new pool.
   */
  #dropTransporter(late: Transporter): void {
    this.#deadlinesMissed++
    if (late !== this.#transporter) return
    this.#transporter = openTransporter(this.settings.smtp)
    ;(late.close as (options?: { force?: boolean }) => void)({ force: true })
  }

  /** Sends that missed `mail.timeouts.sendMs` (each one failed, to be retried, and its connection destroyed). */
  get deadlinesMissed(): number {
    return this.#deadlinesMissed
  }

  /** Sends what is gathering and waiting, up to `timeoutMs`; what is left stays spooled. */
  async flush(timeoutMs: number): Promise<void> {
    const flushed = this.#throttle.flush()
    if (flushed) await settleWithin(flushed, timeoutMs)
    await this.#delivery.drain(timeoutMs)
  }

  override _final(callback: (error?: Error | null) => void): void {
    // digests still gathering go out now, so a shutdown loses no count
    void this.flush(5000).then(() => callback())
  }

  #closing: Promise<void> | undefined

  /** Stops sending; resolves once the spool has recorded what is still owed. Safe to call twice. */
  override close(): Promise<void> {
    if (this.#closing) return this.#closing
    // a fleet's windows are taken from the store first: their digests join what is owed
    const flushed = this.#throttle.flush()
    // bounded, and held alive while it runs: an app may await it with nothing else running
    this.#closing = settleWithin(
      flushed ? settleWithin(flushed, CLOSE_MS / 2).then(() => this.#shutDown()) : this.#shutDown(),
      CLOSE_MS,
    )
    return this.#closing
  }

  /** Says what is still owed, then lets the spool record it and the connections go. */
  #shutDown(): Promise<void> {
    const warning = undeliveredAtShutdown(
      this.#delivery.stats(),
      `mail(s) to ${this.settings.target}`,
    )
    if (warning) sayFrom(this, 'FAULTLINE_MAIL_UNDELIVERED', warning.message)
    return this.#delivery.close(0).then(() => this.#transporter.close())
  }
}
