import { noticeOf, type NoticeChannel } from '../notices.js'
import { FaultlineConfigError } from './config-error.js'

/**
 * Every option renamed before 1.0, old path → new path and how to say the
 * same thing now. An old name fails at start-up rather than being ignored: a
 * setting silently dropped would leave, say, warnings unmailed with nobody
 * told why.
 */
export const RENAMED_OPTIONS: ReadonlyArray<readonly [old: string, now: string, hint?: string]> = [
  ['mail.warnings', 'mail.level', "level: 'warn' mails warnings too; the default 'error' does not"],
  ['mail.maxPerHour', 'mail.ceiling.max'],
  ['mail.ceilingPeriodMs', 'mail.ceiling.periodMs'],
  ['mail.timeouts.connection', 'mail.timeouts.connectionMs'],
  ['mail.timeouts.greeting', 'mail.timeouts.greetingMs'],
  ['mail.timeouts.socket', 'mail.timeouts.socketMs'],
  [
    'tickets.errors',
    'tickets.level',
    "level: 'error' files hand-written errors too; the default 'traceback' does not",
  ],
  ['tickets.windowMs', 'tickets.digestWindowMs'],
  ['tickets.maxPerHour', 'tickets.ceiling.max'],
  ['tickets.ceilingPeriodMs', 'tickets.ceiling.periodMs'],
  ['tickets.fingerprintField', 'tickets.redmine.fingerprintField'],
  ['tickets.trackerId', 'tickets.redmine.trackerId'],
  ['tickets.reopenStatusId', 'tickets.redmine.reopenStatusId'],
  ['close.timeout', 'close.timeoutMs'],
]

/** The start-up error for a renamed option: what it is called now, and how to say the same. */
export function renamedError(old: string): FaultlineConfigError | undefined {
  const entry = RENAMED_OPTIONS.find(([name]) => name === old)
  if (!entry) return undefined
  const [, now, hint] = entry
  return new FaultlineConfigError(
    old,
    `faultline: option "${old}" was renamed to "${now}"${hint ? ` (${hint})` : ''}`,
  )
}

/** Throws for any key of `value` (an option object at `prefix`) that is an old name. */
export function rejectRenamed(prefix: string, value: unknown): void {
  if (value === null || typeof value !== 'object') return
  for (const key of Object.keys(value)) {
    const err = renamedError(`${prefix}.${key}`)
    if (err) throw err
  }
}

// per channel: stderr is one channel for the whole process, an app's own function hears it once too
const warned = new WeakMap<NoticeChannel, Set<string>>()

/** For a call past start-up (`close()`), where failing would cost a shutdown: the old name still works, and is named once per channel. */
export function warnRenamedOnce(old: string, say: NoticeChannel): void {
  const said = warned.get(say) ?? new Set<string>()
  if (said.has(old)) return
  said.add(old)
  warned.set(say, said)
  const err = renamedError(old)
  if (err) say(noticeOf('FAULTLINE_RENAMED_OPTION', err.message.replace(/^faultline: /, '')))
}
