/** A point in time that shutdown work must settle by. */
export interface Deadline {
  /** Resolves when `work` settles or the deadline passes, whichever is first; never rejects. */
  race(work: Promise<unknown> | unknown): Promise<void>
  /** Milliseconds left, never below zero. */
  left(): number
  /** Releases the timer: call once the work it guarded is done. */
  clear(): void
}

/**
 * Starts a deadline `ms` from now, held by one ref'd timer. The transports'
 * own timers are unref'd so that logging never keeps a process alive; a
 * shutdown is the one moment something must: without this timer, a process
 * with nothing else running exits with `close()` still pending, and the code
 * after `await close()` never runs.
 *
 * @example
 * ```ts
 * const deadline = startDeadline(1000)
 * await deadline.race(transport.close())
 * deadline.clear()
 * ```
 */
export function startDeadline(ms: number): Deadline {
  const end = Date.now() + ms
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms))
  })
  const settled = (work: unknown) =>
    Promise.resolve(work).then(
      () => undefined,
      () => undefined,
    )
  return {
    race: (work) => Promise.race([settled(work), expired]),
    left: () => Math.max(0, end - Date.now()),
    clear: () => clearTimeout(timer),
  }
}

/**
 * Waits for `work` at most `ms`, keeping the process alive meanwhile: for a
 * transport's own `close()`, which an app may await with nothing else running.
 *
 * @example
 * ```ts
 * await settleWithin(delivery.close(0), 2000)
 * ```
 */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  const deadline = startDeadline(ms)
  try {
    await deadline.race(work)
  } finally {
    deadline.clear()
  }
}
