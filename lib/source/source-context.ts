// Stack frames with source context for the debug error page. Nothing is read until a
// stack is asked for, and file and source-map work is cached so a page that renders
// the same error twice does not parse the same files twice.
import { contextOf } from './context-lines.js'
import { parseFrame, skipHeader } from './parse-frame.js'
import { isShowable, readLines, resolveRoot } from './source-files.js'
import { mapFrame } from './source-maps.js'

import type { StackFrame } from './frame.js'

export type { FrameOrigin, SourceLine, StackFrame } from './frame.js'

/**
 * Options for {@link getStackFrames}.
 *
 * @example
 * ```ts
 * const options: SourceContextOptions = { radius: 5, maxFrames: 20 }
 * getStackFrames(err.stack, options)
 * ```
 */
export interface SourceContextOptions {
  /** Lines shown before and after the frame's line (default 3). */
  radius?: number
  /** Frames returned at most (default 50). */
  maxFrames?: number
  /**
   * The only directory whose files may be shown (default `process.cwd()`): a
   * frame elsewhere, or a symlink that leads out of it, gets no context.
   */
  root?: string
  /**
   * The error's `name: message` text that the stack starts with. Lines up to
   * its end are never read as frames, so a message quoting user input cannot
   * forge a frame that points the page or mail at a secret file.
   */
  header?: string
}

/** What `getErrorFrames` reads off an error: its name, message and stack, as serialised. */
export interface ErrorText {
  name: string
  message: string
  stack?: string
}

// Real frame lines are short; refusing long ones keeps the regexes linear on hostile input.
const MAX_FRAME_LINE_CHARS = 8192

/**
 * Parses a V8 stack string into frames and attaches source context.
 * Never throws; skips lines that are not frames (the first "Name: message"
 * lines, "... N more frames").
 *
 * @example
 * ```ts
 * try { await handler() } catch (err) {
 *   for (const frame of getStackFrames((err as Error).stack, { radius: 2 })) {
 *     if (frame.origin === 'app') console.log(frame.file, frame.line, frame.context)
 *   }
 * }
 * ```
 */
export function getStackFrames(
  stack: string | undefined,
  options?: SourceContextOptions,
): StackFrame[] {
  const frames: StackFrame[] = []
  if (typeof stack !== 'string') return frames
  const radius = clampInt(options?.radius, 3, 0, 100)
  const maxFrames = clampInt(options?.maxFrames, 50, 0, 10_000)
  const root = resolveRoot(options?.root)
  try {
    let start = skipHeader(stack, options?.header)
    while (start < stack.length && frames.length < maxFrames) {
      let end = stack.indexOf('\n', start)
      if (end === -1) end = stack.length
      const text = stack.slice(start, end)
      start = end + 1
      const frame = text.length <= MAX_FRAME_LINE_CHARS ? parseFrame(text) : undefined
      if (frame) frames.push(withContext(frame, radius, root))
    }
  } catch {
    // A debug page must render even if something unforeseen breaks; partial frames beat none.
  }
  return frames
}

/**
 * The frames of a serialised error's own stack, never of its message: the
 * stack's first lines repeat `name: message`, which may hold newlines and
 * text that looks like a frame.
 *
 * @example
 * ```ts
 * const frames = getErrorFrames(report.error, { root: '/srv/shop', radius: 2 })
 * ```
 */
export function getErrorFrames(
  error: ErrorText | undefined,
  options?: Omit<SourceContextOptions, 'header'>,
): StackFrame[] {
  if (!error || typeof error.stack !== 'string') return []
  return getStackFrames(error.stack, {
    ...options,
    header: error.message ? `${error.name}: ${error.message}` : error.name,
  })
}

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback
  return Math.min(max, Math.max(min, Math.floor(value)))
}

function withContext(frame: StackFrame, radius: number, root: string | undefined): StackFrame {
  const { file, line } = frame
  if (frame.origin === 'node' || line === undefined || !isShowable(file, root)) return frame
  try {
    const lines = readLines(file)
    const mapped =
      lines && /\.[cm]?js$/.test(file) ? mapFrame(frame, line, lines, radius, root) : undefined
    return mapped ?? { ...frame, context: contextOf(lines, line, radius) }
  } catch {
    return frame
  }
}
