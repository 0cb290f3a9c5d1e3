import type { IncomingMessage } from 'node:http'
import { readField } from '../report/error-status.js'

// what a write to, or a read from, a client that went away fails with
const CLIENT_GONE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
])

/** Whether the client's side of the connection is gone. */
export function isConnectionGone(req: IncomingMessage): boolean {
  const socket = req.socket
  return req.destroyed || !socket || socket.destroyed || !socket.writable
}

/**
 * Whether an error is the client's doing rather than the app's (the
 * `wsgi.fatal_errors` idea): an aborted body, or a connection error while the
 * client's connection is gone. An EPIPE from the app's own database socket,
 * with the client still there, stays the app's error.
 */
export function isClientAbort(err: unknown, req: IncomingMessage): boolean {
  if (readField(err, 'type') === 'request.aborted') return true
  const code = readField(err, 'code')
  const matches =
    (typeof code === 'string' && CLIENT_GONE_CODES.has(code)) ||
    readField(err, 'message') === 'aborted'
  return matches && isConnectionGone(req)
}
