// Reading one V8 stack line as a frame. Only syntax here: nothing is read from disk, so
// a line quoting hostile input can at worst name a file, which the callers check.
import { fileURLToPath } from 'node:url'
import type { FrameOrigin, StackFrame } from './frame.js'

/**
 * Where the frames start. A stack that begins with the header exactly skips
 * it; otherwise (scrubbed, cut, or a message changed after the throw) as many
 * lines as the header has are skipped, and when that is not the whole stack
 * the frames still have to pass the file checks before any source is read.
 */
export function skipHeader(stack: string, header: string | undefined): number {
  if (typeof header !== 'string') return 0
  if (stack.startsWith(header) && (stack.length === header.length || stack[header.length] === '\n'))
    return header.length + 1
  let at = 0
  for (let lines = header.split('\n').length; lines > 0 && at <= stack.length; lines--) {
    const nl = stack.indexOf('\n', at)
    at = nl === -1 ? stack.length + 1 : nl + 1
  }
  return at
}

/** One frame off a stack line, or `undefined` when the line is not a frame. */
export function parseFrame(text: string): StackFrame | undefined {
  const trimmed = text.trim()
  if (!/^at\s/.test(trimmed)) return undefined
  let rest = trimmed.slice(3).trim()
  const isAsync = /^async\s+\S/.test(rest)
  if (isAsync) rest = rest.slice(6).trim()
  let functionName = ''
  let location = rest
  if (rest.endsWith(')')) {
    // Scan back for the matching paren: eval locations nest "(...)" inside the outer one.
    let depth = 0
    for (let i = rest.length - 1; i >= 0; i--) {
      const ch = rest[i]
      if (ch === ')') depth++
      else if (ch === '(' && --depth === 0) {
        functionName = rest.slice(0, i).trim()
        location = rest.slice(i + 1, -1)
        break
      }
    }
  }
  if (functionName === '<anonymous>') functionName = ''
  const frame: StackFrame = {
    functionName,
    async: isAsync,
    file: location,
    origin: 'app',
    mapped: false,
  }
  // Eval frames stay as given: their line numbers refer to code that exists in no file.
  const position = location.startsWith('eval at ')
    ? null
    : (/^(.*):(\d+):(\d+)$/.exec(location) ?? /^(.*):(\d+)$/.exec(location))
  if (position?.[1]) {
    frame.file = toPath(position[1])
    frame.line = Number(position[2])
    if (position[3] !== undefined) frame.column = Number(position[3])
  }
  frame.origin = originOf(frame.file)
  return frame
}

function toPath(file: string): string {
  if (!file.startsWith('file://')) return file
  try {
    const url = new URL(file)
    // Hot-reload setups import "x.js?t=123"; the query is not part of the file name.
    url.search = ''
    url.hash = ''
    return fileURLToPath(url)
  } catch {
    return file
  }
}

export function originOf(file: string): FrameOrigin {
  // built-ins such as Array.map and Promise.all print as <anonymous> or native
  if (
    file.startsWith('node:') ||
    file.startsWith('internal/') ||
    file === '<anonymous>' ||
    file === 'native'
  )
    return 'node'
  return /[\\/]node_modules[\\/]/.test(file) ? 'dependency' : 'app'
}
