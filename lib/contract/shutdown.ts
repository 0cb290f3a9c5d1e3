import type { Logger } from 'winston'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'
import { startDeadline } from './deadline.js'

/** The part of a close timeout kept for ending the transports after they drained: a fifth, at most half a second. */
function closeReserve(timeout: number): number {
  return Math.min(500, timeout / 5)
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** Runs one transport's shutdown step; a step that throws must not keep the others from theirs, nor reject close(). */
function callQuietly(step: () => unknown, say: NoticeChannel): unknown {
  try {
    return step()
  } catch (err) {
    say(
      noticeOf(
        'FAULTLINE_CLOSE_FAILED',
        `a transport failed while closing: ${err instanceof Error ? err.message : String(err)}`,
      ),
    )
    return undefined
  }
}

/**
 * Flushes, ends and closes every transport of the logger, and resolves within
 * `timeout` whatever the receivers do: a receiver that is down, a disk that
 * is full or a transport that throws only shortens what gets delivered, and
 * what is still owed stays in the spools for the next start.
 *
 * @example
 * ```ts
 * await closeTransports(faultline.logger, 1000)
 * ```
 */
export async function closeTransports(
  logger: Logger,
  timeout: number,
  say: NoticeChannel = stderrNotices,
): Promise<void> {
  const deadline = startDeadline(timeout)
  try {
    const flushMs = Math.max(0, timeout - closeReserve(timeout))
    const flushing = logger.transports.map((t) =>
      callQuietly(() => (t as { flush?: (ms: number) => Promise<void> }).flush?.(flushMs), say),
    )
    await deadline.race(Promise.race([Promise.allSettled(flushing), sleepUnref(flushMs)]))
    // ending gets half of what is left, so the transports' own close always has time to settle their spools
    const finished = new Promise<void>((resolve) => logger.once('finish', resolve))
    callQuietly(() => logger.end(), say)
    await deadline.race(Promise.race([finished, sleepUnref(deadline.left() / 2)]))
    // the transports' own close settles their spools before close() resolves; winston's would not wait
    const closing = logger.transports.map((t) =>
      callQuietly(() => (t as { close?: () => unknown }).close?.(), say),
    )
    await deadline.race(Promise.allSettled(closing))
  } finally {
    deadline.clear()
    callQuietly(() => logger.close(), say)
  }
}

/** Reopens every transport that has a `reopen()` (log rotation); never throws. */
export function reopenTransports(transports: readonly object[]): void {
  for (const transport of transports) {
    const reopen = (transport as { reopen?: unknown }).reopen
    try {
      if (typeof reopen === 'function' && reopen.length === 0) reopen.call(transport)
    } catch {
      // one transport that cannot reopen must not keep the others on their old files
    }
  }
}
