/**
 * The last step before a mail leaves: the nodemailer message a spooled unit
 * becomes (its envelope and the headers that keep auto-responders quiet and
 * let filters find the incident), and the `.eml` file it is written to when
 * there is no SMTP server. Kept apart from transports/mail.ts, which decides
 * when a mail goes; this file decides only what goes and how it lands on disk.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ComposedMail } from './format.js'

/** One mail waiting to go: what the spool keeps. */
export interface MailUnit {
  mail: ComposedMail
  incident?: string
  fingerprint?: string
}

/** The message nodemailer sends for one unit, from and to the configured addresses. */
export function messageOf(unit: MailUnit, envelope: { from: string; to: string[] }) {
  const { mail } = unit
  return {
    from: envelope.from,
    to: envelope.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo, references: mail.references } : {}),
    headers: {
      // tells vacation responders and ticket systems not to answer
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      // for mail filters and scripts: which incident and which error this mail is about
      ...(unit.incident ? { 'X-Faultline-Incident': unit.incident } : {}),
      ...(unit.fingerprint ? { 'X-Faultline-Fingerprint': unit.fingerprint } : {}),
    },
  }
}

/** Writes a sent mail's content into the outbox as one `.eml` file. */
export function writeEml(dir: string, mail: ComposedMail, content: Buffer): void {
  // mails hold request data: readable by the app's user only, whatever the umask
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.messageId.replace(/[^A-Za-z0-9.-]/g, '').slice(0, 80)}.eml`
  // written whole or not at all: a reader never sees half a mail
  const tmp = join(dir, `.${name}.tmp`)
  writeFileSync(tmp, content, { mode: 0o600 })
  renameSync(tmp, join(dir, name))
}
