import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import nodemailer, { type Transporter } from 'nodemailer'
import TransportStream from 'winston-transport'
import { describeMailError } from '../lib/mail-errors.js'
import { composeDigestMail, composeHeldBackMail, composeReportMail, type ComposedMail } from '../lib/mail-format.js'
import { resolveMailOptions, type MailOptions, type ResolvedMailOptions } from '../lib/mail-options.js'
import { MailThrottle } from '../lib/mail-throttle.js'
import type { Report } from '../lib/report.js'

/** Options of the mail transport: the `mail` settings, plus who it mails for. */
export interface MailTransportOptions extends MailOptions {
  /** Default recipients when `to` is not given. */
  managers?: string[]
  /** Used in the sender's name. Default `app`. */
  appName?: string
}

/** Delivery counts, for health checks and tests. */
export interface MailStats {
  sent: number
  queued: number
  retried: number
  failed: number
}

interface Queued {
  mail: ComposedMail
  incident?: string
  fingerprint?: string
  report?: Report
  attempts: number
}

const MAX_QUEUE = 1000
const MAX_BACKOFF_MS = 60_000

function isReport(info: Record<string, unknown>): boolean {
  return typeof info.fingerprint === 'string' && typeof info.kind === 'string' && typeof info.id === 'string'
}

/**
 * Mails errors and tracebacks to the managers through nodemailer, never on
 * the request path: reports are throttled per fingerprint (first one at once,
 * the rest in one digest per window, a ceiling per hour), queued, and sent in
 * the background with retries and capped backoff. Without an SMTP server
 * (`outbox`), each mail is written as an `.eml` file instead.
 *
 * @example
 * ```ts
 * new MailTransport({ url: 'smtp://user:pass@mail.example.org:587', managers: ['ops@example.org'] })
 * ```
 */
export class MailTransport extends TransportStream {
  readonly settings: ResolvedMailOptions
  readonly #throttle: MailThrottle
  readonly #transporter: Transporter
  readonly #queue: Queued[] = []
  #busy = false
  #retryTimer: NodeJS.Timeout | undefined
  #failing = 0
  #drained: Array<() => void> = []
  #stats: MailStats = { sent: 0, queued: 0, retried: 0, failed: 0 }

  constructor(options: MailTransportOptions) {
    const { managers = [], appName = 'app', ...setting } = options
    const settings = resolveMailOptions(setting as Record<string, unknown>, { managers, appName })
    super({ level: settings.warnings ? 'warn' : 'error' })
    this.settings = settings
    this.#transporter = settings.smtp
      ? nodemailer.createTransport({ ...settings.smtp, pool: true, maxConnections: 2 })
      : nodemailer.createTransport({ streamTransport: true, buffer: true })
    this.#throttle = new MailThrottle(
      { windowMs: settings.digestWindowMs, maxPerPeriod: settings.maxPerHour, periodMs: settings.ceilingPeriodMs },
      {
        sendReport: (report) => this.#enqueue({ mail: composeReportMail(report), report, incident: report.id, fingerprint: report.fingerprint, attempts: 0 }),
        sendDigest: (digest) => this.#enqueue({ mail: composeDigestMail(digest), incident: digest.first.id, fingerprint: digest.fingerprint, attempts: 0 }),
        sendHeldBack: (held) => this.#enqueue({ mail: composeHeldBackMail(held, appName, 'localhost'), attempts: 0 }),
      },
    )
  }

  override log(info: Record<string, unknown>, callback: () => void): void {
    if (isReport(info)) this.#throttle.add(info as unknown as Report)
    callback()
  }

  /** What was sent, is waiting, was retried or given up on. */
  stats(): MailStats {
    return { ...this.#stats, queued: this.#queue.length + (this.#busy ? 1 : 0) }
  }

  #enqueue(item: Queued): void {
    if (this.#queue.length >= MAX_QUEUE) {
      this.#stats.failed++
      this.emit('warn', new Error(`faultline: mail queue full (${MAX_QUEUE}); a mail for ${this.settings.target} was dropped`))
      return
    }
    this.#queue.push(item)
    this.#pump()
  }

  #pump(): void {
    if (this.#busy || this.#retryTimer) return
    const item = this.#queue.shift()
    if (!item) {
      for (const resolve of this.#drained.splice(0)) resolve()
      return
    }
    this.#busy = true
    this.#deliver(item).then(
      () => this.#onSent(item),
      (err: unknown) => this.#onFailed(item, err),
    )
  }

  async #deliver(item: Queued): Promise<void> {
    const { mail } = item
    const message = {
      from: this.settings.from,
      to: this.settings.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo, references: mail.references } : {}),
      // tells vacation responders and ticket systems not to answer
      headers: {
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
        // for mail filters and scripts: which incident and which error this mail is about
        ...(item.incident ? { 'X-Faultline-Incident': item.incident } : {}),
        ...(item.fingerprint ? { 'X-Faultline-Fingerprint': item.fingerprint } : {}),
      },
    }
    const info = await this.#transporter.sendMail(message)
    if (this.settings.outbox) this.#writeEml(mail, (info as unknown as { message: Buffer }).message)
  }

  #writeEml(mail: ComposedMail, content: Buffer): void {
    const dir = this.settings.outbox!
    mkdirSync(dir, { recursive: true })
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^A-Za-z0-9.-]/g, '').slice(0, 80)}.eml`
    // written whole or not at all: a reader never sees half a mail
    const tmp = join(dir, `.${name}.tmp`)
    writeFileSync(tmp, content)
    renameSync(tmp, join(dir, name))
  }

  #onSent(item: Queued): void {
    this.#busy = false
    this.#stats.sent++
    if (this.#failing) {
      this.emit('warn', new Error(`mail to ${this.settings.target} works again after ${this.#failing} failed attempts`))
      this.#failing = 0
    }
    if (item.report) this.emit('logged', item.report)
    this.#pump()
  }

  #onFailed(item: Queued, err: unknown): void {
    this.#busy = false
    item.attempts++
    // one line per outage, never one per mail, and never through this transport itself
    if (this.#failing++ === 0) this.emit('warn', new Error(`mail to ${this.settings.target} failed: ${describeMailError(err, this.settings.target)}; retrying with backoff`))
    if (item.attempts >= this.settings.attempts) {
      this.#stats.failed++
      this.emit('warn', new Error(`gave up on a mail to ${this.settings.target} after ${item.attempts} attempts: ${item.mail.subject}`))
    } else {
      this.#stats.retried++
      this.#queue.unshift(item)
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(item.attempts, 10)) * (0.8 + Math.random() * 0.4)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#pump()
    }, delay)
    this.#retryTimer.unref()
  }

  /** Resolves once every queued mail was sent or given up on. */
  drain(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push(resolve))
  }

  override _final(callback: (error?: Error | null) => void): void {
    // digests still gathering go out now, so a shutdown loses no count
    this.#throttle.flush()
    void this.drain().then(() => callback())
  }

  override close(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#throttle.flush()
    const left = this.#queue.length + (this.#busy ? 1 : 0)
    if (left) this.emit('warn', new Error(`${left} mail(s) to ${this.settings.target} were still undelivered at shutdown`))
    this.#transporter.close()
  }
}
