import { isClaimed } from './request-scope.js'

/** What the guards call on: the crash path, and the instance's `close()`. */
export interface GuardedInstance {
  /** Writes the crash report synchronously to every transport. */
  crash(error: unknown, origin: string): void
  close(options: { timeoutMs: number }): Promise<void>
  /** Reopens the files written, after a log rotation. */
  reopen(): void
}

/** What `installProcessGuards` set up, to take back on close. */
export interface ProcessGuards {
  remove(): void
}

/**
 * Opt-in process-level handling. `handleProcessErrors`: an uncaught exception
 * or an unhandled rejection outside any live request becomes a traceback report, written synchronously
 * to the file and to every transport's spool, and the process exits with code
 * 1, as it would have without faultline, but with nothing lost.
 * `handleSignals`: SIGTERM and SIGINT flush and close faultline first, then
 * the signal takes its course (or the app's own handlers do); SIGHUP reopens
 * the files faultline writes (logrotate's `postrotate`), and the process goes on.
 */
export function installProcessGuards(
  instance: GuardedInstance,
  options: { errors: boolean; signals: boolean; closeTimeoutMs: number },
): ProcessGuards {
  const removers: Array<() => void> = []
  if (options.errors) {
    const onCrash = (error: unknown, origin: string) => {
      // a live request's error went to that request (see async-errors.ts): the process goes on
      if (isClaimed(error)) return
      try {
        instance.crash(
          error,
          origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception',
        )
      } finally {
        process.exit(1)
      }
    }
    const onRejection = (reason: unknown) => onCrash(reason, 'unhandledRejection')
    process.on('uncaughtException', onCrash)
    process.on('unhandledRejection', onRejection)
    removers.push(() => {
      process.off('uncaughtException', onCrash)
      process.off('unhandledRejection', onRejection)
    })
  }
  if (options.signals) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const onSignal = () => {
        process.off(signal, onSignal)
        void instance.close({ timeoutMs: options.closeTimeoutMs }).finally(() => {
          // with nobody else listening, the signal does what it always does: end the process
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
        })
      }
      process.on(signal, onSignal)
      removers.push(() => process.off(signal, onSignal))
    }
  }
  if (options.signals) {
    const onHangup = () => instance.reopen()
    process.on('SIGHUP', onHangup)
    removers.push(() => process.off('SIGHUP', onHangup))
  }
  return { remove: () => removers.forEach((remove) => remove()) }
}
