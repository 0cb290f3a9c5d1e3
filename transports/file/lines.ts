import { configure } from 'safe-stable-stringify'
import { isoTime } from '../../lib/report/clock.js'

// circular or BigInt metadata from an app's own req.log call must not cost the line
const stringify = configure({ bigint: true, circularValue: '[Circular]', deterministic: false })

/** One line waiting: its bytes, and the record to announce as logged once it is written (none for faultline's own notices). */
export interface Pending {
  bytes: Buffer
  info?: unknown
}

/** One JSON line: reports are JSON-safe, so the native stringify serves; an app's own odd metadata falls back to the safe one. */
export function toLine(info: Record<string | symbol, unknown>): string {
  try {
    return JSON.stringify(info)
  } catch {
    return stringify(info)
  }
}

export function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined
  return typeof e?.code === 'string' ? e.code : String(e?.message ?? err)
}

/** The line that says in the file itself how many lines were dropped, and since when. */
export function droppedNotice(filename: string, dropped: number, since: string): Buffer {
  const notice = {
    level: 'warn',
    message: `faultline: ${dropped} line(s) were dropped because ${filename} could not take them`,
    event: 'dropped',
    dropped,
    since,
    time: isoTime(),
  }
  return Buffer.from(`${JSON.stringify(notice)}\n`, 'utf8')
}
