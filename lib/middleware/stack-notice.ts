import type { Response } from 'express'
import { escapeControl } from '../report/control-chars.js'

// enough for an error page with its layout; a page past this is not searched further
const SAMPLE_LIMIT = 64 * 1024
// a stack longer than this is searched for its first frame in its start only
const STACK_LIMIT = 16 * 1024

const samples = new WeakMap<Response, string>()

/**
 * Keeps the start of a 5xx body as `res.end` sends it (`res.send`,
 * `res.json`, `res.render` all end with the whole body): read at close, to
 * tell whether the app's own page showed a stack trace. Never throws.
 */
export function keepBodySample(res: Response, chunk: unknown, encoding: unknown): void {
  try {
    // the first body is the page: a compression middleware passes its compressed bytes on to an `end` further down
    if (samples.has(res)) return
    if (typeof chunk === 'string') samples.set(res, chunk.slice(0, SAMPLE_LIMIT))
    else if (chunk instanceof Uint8Array) {
      const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      const charset = encoding === 'latin1' || encoding === 'binary' ? 'latin1' : 'utf8'
      samples.set(res, bytes.subarray(0, SAMPLE_LIMIT).toString(charset))
    }
  } catch {
    // sampling is best effort: the response goes out regardless
  }
}

/** The first frame of an error's stack, with its file and line: a line no page shows unless it shows the stack. */
function firstFrame(error: unknown): string | undefined {
  let stack: unknown
  try {
    stack = (error as { stack?: unknown } | null | undefined)?.stack
  } catch {
    return undefined
  }
  if (typeof stack !== 'string') return undefined
  const frame = /\n\s*(at [^\n]*:\d+:\d+\)?)[ \t]*(?:\n|$)/.exec(stack.slice(0, STACK_LIMIT))?.[1]
  return frame
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Whether the body shows the frame as it is, HTML-escaped, or inside a JSON string. */
function bodyShows(body: string, frame: string): boolean {
  return (
    body.includes(frame) ||
    body.includes(escapeHtml(frame)) ||
    body.includes(JSON.stringify(frame).slice(1, -1))
  )
}

/**
 * The operator's notice when a 5xx page the app rendered itself showed the
 * stack of an error faultline was given (`res.locals.error`, `next(err)`,
 * `capture()`), or undefined. The body's sample is let go either way.
 */
export function findShownStack(
  res: Response,
  errors: readonly unknown[],
  where: { method: string; path: string; id: string | undefined },
): string | undefined {
  const body = samples.get(res)
  if (body === undefined) return undefined
  samples.delete(res)
  if (
    !errors.some((error) => {
      const frame = firstFrame(error)
      return frame !== undefined && bodyShows(body, frame)
    })
  )
    return undefined
  const method = escapeControl(where.method.slice(0, 20))
  const path = escapeControl(where.path.slice(0, 200))
  const incident = where.id ? ` (incident ${where.id})` : ''
  return (
    `the app's own error page for ${method} ${path}${incident} showed a stack trace; ` +
    `faultline's pages never do, but it cannot change a page the app renders itself: ` +
    `keep err.stack off it in production (this notice is given once)`
  )
}
