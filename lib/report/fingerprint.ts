import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { relative, sep, isAbsolute } from 'node:path'

const MESSAGE_RULES: Array<[RegExp, string]> = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  // bounded parts: an unbounded local part backtracks over a long run of word characters with no @ after it
  [/[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}/g, '<email>'],
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, '<ip>'],
  [/\b(?:0x)?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\d+(\.\d+)?/g, '<n>'],
]

/**
 * Takes the ids, numbers, times and addresses out of a message, so that
 * "order 1234 not found" and "order 98 not found" are one error.
 *
 * @example
 * ```ts
 * normalizeMessage('order 1234 not found for 10.0.0.7') // 'order <n> not found for <ip>'
 * ```
 */
export function normalizeMessage(message: string): string {
  let text = message.length > 2000 ? message.slice(0, 2000) : message
  for (const [pattern, replacement] of MESSAGE_RULES) {
    // the address rule backtracks over every run of word characters: only worth running when there is an @
    if (replacement === '<email>' && !text.includes('@')) continue
    text = text.replace(pattern, replacement)
  }
  return text
}

/** What stands for the path in the fingerprint and the title of a warning no route matched. */
export const UNMATCHED_PATH = '<unmatched path>'

/** Normalises the variable parts out of a URL path, for grouping requests that matched no route. */
export function normalizePath(url: string): string {
  const q = url.indexOf('?')
  const path = (q === -1 ? url : url.slice(0, q)).slice(0, 500)
  return path
    .split('/')
    .map((segment) => (/\d/.test(segment) || segment.length > 40 ? ':x' : segment))
    .join('/')
}

const MAX_FRAME_LINE = 1000

/** The function and file of a frame line (`    at fn (file:1:2)`, `    at file:1:2`), read without a backtracking regex. */
function parseFrame(line: string): { fn: string; file: string } | undefined {
  if (line.length > MAX_FRAME_LINE) return undefined
  let body = line.slice(7).trimEnd()
  let fn = ''
  if (body.endsWith(')')) {
    const open = body.lastIndexOf(' (')
    if (open === -1) return undefined
    fn = body.slice(0, open)
    body = body.slice(open + 2, -1)
  }
  const location = /:\d+:\d+$/.exec(body)
  if (!location) return undefined
  return { fn, file: body.slice(0, location.index) }
}

function toAppPath(file: string, appRoot: string): string | undefined {
  let path = file
  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path)
    } catch {
      return undefined
    }
  }
  if (path.startsWith('node:') || !isAbsolute(path) || path.includes(`${sep}node_modules${sep}`))
    return undefined
  const rel = relative(appRoot, path)
  // a file outside the app root keeps only its last two segments, so deploy directories do not matter
  return rel.startsWith('..') ? path.split(sep).slice(-2).join('/') : rel.split(sep).join('/')
}

// a storm throws from the same few files: their app-relative paths are worked out once
const appPaths = new Map<string, string | undefined>()

function cachedAppPath(file: string, appRoot: string): string | undefined {
  const key = `${appRoot}\u0000${file}`
  if (appPaths.has(key)) return appPaths.get(key)
  if (appPaths.size > 5000) appPaths.clear()
  const path = toAppPath(file, appRoot)
  appPaths.set(key, path)
  return path
}

/** The app's own frames of a stack, as `function@file` without line numbers, so a deploy that moves lines keeps the fingerprint. */
export function getAppFrames(stack: string | undefined, appRoot: string, max = 5): string[] {
  if (!stack) return []
  const frames: string[] = []
  for (const line of stack.split('\n', 200)) {
    if (!line.startsWith('    at ')) continue
    const frame = parseFrame(line)
    if (!frame) continue
    const file = cachedAppPath(frame.file, appRoot)
    if (file === undefined) continue
    frames.push(`${frame.fn.replace(/^async /, '')}@${file}`)
    if (frames.length >= max) break
  }
  return frames
}

/**
 * A stable 16-hex-digit fingerprint of the given parts: the same error from
 * two processes or two deploys gets the same fingerprint.
 *
 * @example
 * ```ts
 * computeFingerprint(['traceback', 'TypeError', normalizeMessage(err.message)])
 * ```
 */
export function computeFingerprint(parts: readonly string[]): string {
  return createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 16)
}
