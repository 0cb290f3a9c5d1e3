import { AsyncLocalStorage } from 'node:async_hooks'
import { noticeOf, stderrNotices, type NoticeChannel } from '../notices.js'
import type { Attribution } from '../report/report.js'

/**
 * What an error raised in a request's async context is handed to: the
 * request's own error path (see `RequestLifecycle.failAsync`).
 */
export interface RequestScope {
  /** Whether the request's response is still open (another copy of faultline may ask). */
  isLive(): boolean
  /**
   * Makes the error the request's traceback and answers the request, once per
   * error; once the response closed, a report of its own. `attribution` says
   * how the error was tied to the request.
   */
  fail(error: unknown, attribution?: Attribution): void
  /** Where the faultline that made the scope says its notices (absent in an older copy of faultline). */
  readonly say?: NoticeChannel
}

interface SharedScopes {
  storage: AsyncLocalStorage<RequestScope>
  /** The error the request path took in the event being emitted now, so the process guards leave it alone. */
  claimed: { error: unknown } | undefined
  installed: boolean
}

// one store and one set of process listeners per process, shared by every faultline
// instance (app + sub-app) and by two copies of the package, which agree through the registry symbol
const SHARED = Symbol.for('faultline.request-scopes')

function shared(): SharedScopes {
  const holder = globalThis as { [SHARED]?: SharedScopes }
  holder[SHARED] ??= {
    storage: new AsyncLocalStorage<RequestScope>(),
    claimed: undefined,
    installed: false,
  }
  return holder[SHARED]
}

// looked up once: every request enters a scope, and the registry never changes after it is made
const storage = shared().storage

/** Runs the rest of a request's middleware chain in its scope: whatever it starts, a timer or a promise, carries it. */
export function runInScope(scope: RequestScope, next: () => void): void {
  storage.run(scope, next)
}

/**
 * Hands an error raised in a request's async context to that request, open
 * or closed, tied by that context only; false when the current context is no
 * request's (then nothing is done).
 */
export function claimForRequest(error: unknown): boolean {
  const state = shared()
  const scope = state.storage.getStore()
  if (!scope) return false
  state.claimed = { error }
  // the guards' listeners run in this same emit, right after: they see the claim, then it is gone
  queueMicrotask(() => {
    if (state.claimed?.error === error) state.claimed = undefined
  })
  hand(scope, error, 'async-context')
  return true
}

function hand(scope: RequestScope, error: unknown, attribution: Attribution): void {
  try {
    scope.fail(error, attribution)
  } catch (failure) {
    ;(scope.say ?? stderrNotices)(
      noticeOf(
        'FAULTLINE_REPORT_FAILED',
        `could not hand an error to its request: ${failure instanceof Error ? failure.stack : String(failure)}`,
      ),
    )
  }
}

/**
 * The callback, tied to the request whose handling is running now: it runs
 * in that request's scope wherever it is called from (a pool socket another
 * request opened), and a synchronous throw in it is that request's error,
 * exactly. Outside any request, the callback itself.
 */
export function bindToRequest<A extends unknown[], R>(
  callback: (...args: A) => R,
): (...args: A) => R | undefined {
  const scope = storage.getStore()
  if (!scope) return callback
  return function faultlineBound(this: unknown, ...args: A): R | undefined {
    try {
      return storage.run(scope, () => callback.apply(this, args))
    } catch (error) {
      // taken here, while the request is known: past this frame Node would only see the caller's context
      hand(scope, error, 'exact')
      return undefined
    }
  }
}

/** Whether the error being emitted now was taken by its request (so a process guard must not crash on it). */
export function isClaimed(error: unknown): boolean {
  const claimed = shared().claimed
  return claimed !== undefined && claimed.error === error
}

/** Marks the process listeners installed; false if they already were (by any instance or copy). */
export function markInstalled(): boolean {
  const state = shared()
  if (state.installed) return false
  state.installed = true
  return true
}

/** The scope of the request whose handling is running now, if any. */
export function currentScope(): RequestScope | undefined {
  return storage.getStore()
}
