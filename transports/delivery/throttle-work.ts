import { BackgroundWork } from './background-work.js'
import type { WindowTakes } from '../../lib/store/window-takes.js'

/**
 * The store calls an alerting throttle starts off the request path: settled
 * so nothing escapes into the app, the first failure said once through `warn`
 * as `the shared store failed for <what> (<reason>)<after>`.
 */
export function storeWork(what: string, warn: (err: Error) => void, after = ''): BackgroundWork {
  return new BackgroundWork((err) => {
    const reason = String((err as { message?: unknown })?.message ?? err)
    warn(new Error(`the shared store failed for ${what} (${reason})${after}`))
  })
}

/**
 * A throttle's flush: takes every window it counted into (`closing` takes
 * the ones counted into from now on at once too), then `finish` (its
 * held-back summaries). At once when no store call is under way (this
 * process's own state); else once the calls under way, then the takes, have
 * settled.
 */
export function flushWindows(
  work: BackgroundWork,
  takes: WindowTakes,
  finish: () => void,
  closing = false,
): void | Promise<void> {
  if (!work.busy) {
    takes.takeAll(closing)
    if (!work.busy) return finish()
  }
  return work
    .settled()
    .then(() => {
      takes.takeAll(closing)
      return work.settled()
    })
    .then(finish)
}
