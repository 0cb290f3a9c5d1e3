import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer'
import type { SmtpSettings } from './options.js'

/** A send that ran past `mail.timeouts.sendMs`; read by its `code`, like nodemailer's own errors. */
export interface SendDeadlineError extends Error {
  code: 'ESENDDEADLINE'
}

/** Opens the pooled SMTP transporter, or the in-memory one an outbox writes from. */
export function openTransporter(smtp: SmtpSettings | undefined): Transporter {
  return smtp
    ? // a connection given up on is destroyed at once: a stalling server gets no grace period
      nodemailer.createTransport({ ...smtp, pool: true, maxConnections: 2, socketCloseTimeout: 0 })
    : nodemailer.createTransport({ streamTransport: true, buffer: true })
}

/**
 * Sends one message, failing it once `ms` have passed whatever the server
 * does: nodemailer's socket timeout only counts silence, so a server
 * trickling a byte at a time would hold the send for as long as it likes.
 * `onLate` runs when the deadline passes, to tear the connection down.
 */
export function sendWithin(
  transporter: Transporter,
  message: SendMailOptions,
  ms: number,
  onLate: () => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new Error(
        `the server took longer than mail.timeouts.sendMs (${ms} ms) to take the mail; the connection was dropped`,
      ) as SendDeadlineError
      err.code = 'ESENDDEADLINE'
      reject(err)
      onLate()
    }, ms)
    // logging never keeps a process alive: the delivery line's own timers hold what must be held
    timer.unref()
    transporter.sendMail(message).then(
      (info) => {
        clearTimeout(timer)
        resolve(info)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}
