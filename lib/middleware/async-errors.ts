import { writeSync } from 'node:fs'
import { inspect } from 'node:util'
import { claimForRequest, isClaimed, markInstalled } from './request-scope.js'

/**
 * Async errors of a request that Express never sees: on Express 4 every
 * rejected promise a handler returns, on both versions a promise floated
 * without `await` or a throw in a timer the handler set. Node raises them as
 * `unhandledRejection` / `uncaughtException` in the async context of the
 * request that started them, so that request can still be answered and
 * reported, and the process goes on; once its response closed, as a report of
 * its own. Anything outside every request is left exactly as it was: to the
 * app's own listeners, to faultline's `handleProcessErrors` guard, or, with
 * neither, to what Node itself would have done (which a listener disables, so
 * it is done here).
 */
export function installAsyncErrorListeners(): void {
  if (!markInstalled()) return
  const mode = readRejectionMode([
    ...process.execArgv,
    ...(process.env.NODE_OPTIONS ?? '').split(/\s+/),
  ])
  // first, so a request's error is claimed before any guard that would end the process sees it
  process.prependListener('unhandledRejection', function faultlineOnRejection(reason) {
    if (claimForRequest(reason)) return
    if (process.listenerCount('unhandledRejection') > 1) return
    actAsNodeOnRejection(reason, mode, faultlineOnException)
  })
  // Node calls monitors before any `uncaughtException` listener, even one the app prepends later:
  // the request is answered and its report written before the app's own listener can exit
  process.on('uncaughtExceptionMonitor', function faultlineClaimException(error) {
    claimForRequest(error)
  })
  process.prependListener('uncaughtException', faultlineOnException)
  function faultlineOnException(error: unknown): void {
    if (isClaimed(error)) return
    if (process.listenerCount('uncaughtException') > 1) return
    crashAsNode(error)
  }
}

/** Node's `--unhandled-rejections` mode, from the process's flags; `throw` is Node's default. */
function readRejectionMode(flags: readonly string[]): string {
  let mode = 'throw'
  for (const [index, flag] of flags.entries()) {
    if (flag.startsWith('--unhandled-rejections=')) mode = flag.slice(flag.indexOf('=') + 1)
    else if (flag === '--unhandled-rejections' && flags[index + 1]) mode = flags[index + 1]!
  }
  return mode
}

/** An unhandled rejection nobody else listens to, treated as Node treats it without listeners. */
function actAsNodeOnRejection(
  reason: unknown,
  mode: string,
  ownListener: (error: unknown) => void,
): void {
  // under `strict`, Node raised it as an uncaught exception before this event: nothing is left to do
  if (mode === 'strict' || mode === 'none') return
  if (mode === 'warn' || mode === 'warn-with-error-code') {
    process.emitWarning(`Unhandled promise rejection: ${inspect(reason)}`, {
      type: 'UnhandledPromiseRejectionWarning',
    })
    if (mode === 'warn-with-error-code') process.exitCode = 1
    return
  }
  // `throw`: raised as an uncaught exception, which the app's listeners may still take
  const error = toRaisedError(reason)
  // @types/node 20 does not declare this event for emit()
  const emit = process.emit.bind(process) as (event: string, ...args: unknown[]) => boolean
  emit('uncaughtExceptionMonitor', error, 'unhandledRejection')
  const others = process.listeners('uncaughtException').filter((l) => l !== ownListener)
  if (others.length === 0) return crashAsNode(error)
  for (const listener of others) listener(error as Error, 'unhandledRejection')
}

/** Whether a value looks like an error; a Proxy whose traps throw does not. */
function isErrorLike(value: unknown): boolean {
  try {
    return value !== null && typeof value === 'object' && 'stack' in value
  } catch {
    return false
  }
}

/** What Node raises for a rejection: the reason if it is an error, else an error quoting it. */
function toRaisedError(reason: unknown): unknown {
  if (isErrorLike(reason)) return reason
  const error = new Error(
    'This error originated either by throwing inside of an async function without a catch block, ' +
      `or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason "${inspect(reason)}".`,
  )
  return Object.assign(error, { code: 'ERR_UNHANDLED_REJECTION' })
}

/** The end Node gives an uncaught exception: the error on stderr, exit code 1 (or an abort when asked for). */
function crashAsNode(error: unknown): never {
  try {
    const shown = isErrorLike(error) ? inspect(error) : `Uncaught ${inspect(error)}`
    writeSync(2, `${shown}\n\nNode.js ${process.version}\n`)
  } catch {
    // stderr may be closed, the value may defy inspection: the exit code still tells
  }
  if (process.execArgv.includes('--abort-on-uncaught-exception')) process.abort()
  process.exit(1)
}
