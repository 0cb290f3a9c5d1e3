import type { Request, Response } from 'express'

/** The request's path without its query, which may carry what the scrubber would hide. */
export function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url ?? ''
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/**
 * The error an app's own error middleware left in `res.locals.error`, if it
 * has an error's shape (a `stack` or a `message`): express-generator puts `{}`
 * there in production, and login forms put the message for the user there.
 */
export function readLocalsError(res: Response): unknown {
  try {
    const error = (res.locals as Record<string, unknown> | undefined)?.error
    if (error === null || (typeof error !== 'object' && typeof error !== 'function'))
      return undefined
    return 'stack' in error || 'message' in error ? error : undefined
  } catch {
    // a Proxy that throws on `in` is no error the app meant faultline to read
    return undefined
  }
}
