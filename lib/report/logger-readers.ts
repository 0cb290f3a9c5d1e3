import type { Logger } from 'winston'
import type TransportStream from 'winston-transport'

/** winston-transport's own test: the transport's level, else the logger's, admits the record's. */
export function admits(transport: TransportStream, logger: Logger, level: string): boolean {
  const threshold = transport.level ?? logger.level
  const levels = logger.levels as Record<string, number>
  return !threshold || (levels[threshold] ?? -1) >= (levels[level] ?? Infinity)
}

/** The streams the logger is piped into: winston pipes it into each of its transports. */
export function pipedStreams(logger: Logger): unknown[] {
  const pipes = (logger as unknown as { _readableState?: { pipes?: unknown } })._readableState
    ?.pipes
  if (pipes === null || pipes === undefined) return []
  return Array.isArray(pipes) ? pipes : [pipes]
}

/**
 * A `data` listener that is not a pipe's: winston pipes the logger into each
 * transport, and readable-stream's pipe listens with a function named `ondata`.
 */
export function readers(logger: Logger): Array<(record: unknown) => void> {
  return logger.listeners('data').filter((listener) => listener.name !== 'ondata') as Array<
    (record: unknown) => void
  >
}

/**
 * Whether anything but the logger's own transports reads its stream: a `data`
 * or `readable` listener, or a pipe into a stream that is not a transport.
 * The pipes winston makes to its transports do not count, or every report
 * would take winston's path (and the crash path would write twice).
 */
export function isRead(logger: Logger): boolean {
  if (logger.listenerCount('readable') > 0) return true
  const pipes = pipedStreams(logger)
  // each pipe listens for 'data' once: only a listener beyond those can be a reader's (asked per report, so counted first)
  if (logger.listenerCount('data') > pipes.length && readers(logger).length > 0) return true
  const transports: unknown[] = logger.transports
  // winston's transports are its pipes, the same array: nothing else is piped
  return transports !== pipes && pipes.some((stream) => !transports.includes(stream))
}
