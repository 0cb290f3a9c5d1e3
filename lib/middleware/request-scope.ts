import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * What an error raised in a request's async context is handed to: the
 * request's own error path (see `RequestLifecycle.failAsync`).
 */
export interface RequestScope {
  /** Whether the request can still own an error: its response has not closed. */
  isLive(): boolean
  /** Makes the error the request's traceback and answers the request, once per error. */
  fail(error: unknown): void
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
 * Hands an error raised in a live request's async context to that request;
 * false when the current context is no live request's (then nothing is done).
 */
export function claimForRequest(error: unknown): boolean {
  const state = shared()
  const scope = state.storage.getStore()
  if (!scope?.isLive()) return false
  state.claimed = { error }
  // the guards' listeners run in this same emit, right after: they see the claim, then it is gone
  queueMicrotask(() => {
    if (state.claimed?.error === error) state.claimed = undefined
  })
  try {
    scope.fail(error)
  } catch (failure) {
    process.stderr.write(
      `faultline: could not hand an async error to its request: ${failure instanceof Error ? failure.stack : String(failure)}\n`,
    )
  }
  return true
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
