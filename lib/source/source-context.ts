// Stack frames with source context for the debug error page. Nothing is read until a
// stack is asked for, and file and source-map work is cached so a page that renders
// the same error twice does not parse the same files twice.
import { readFileSync, statSync } from 'node:fs'
import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  FILE_CACHE_CHARS,
  isShowable,
  Lru,
  MAX_FILE_BYTES,
  readLines,
  resolveRoot,
  splitLines,
} from './source-files.js'

/**
 * Where a frame's code comes from; the page uses it to fold away frames the user did not write.
 *
 * @example
 * ```ts
 * const mine = getStackFrames(err.stack).filter((f) => f.origin === ('app' satisfies FrameOrigin))
 * ```
 */
export type FrameOrigin = 'app' | 'dependency' | 'node'

/**
 * One line of source shown around a frame; `current` marks the frame's own line.
 *
 * @example
 * ```ts
 * const html = frame.context?.map((l: SourceLine) => `${l.current ? '>' : ' '} ${l.line} | ${l.text}`).join('\n')
 * ```
 */
export interface SourceLine {
  line: number
  text: string
  current: boolean
}

/**
 * One parsed, and when possible source-mapped, V8 stack frame.
 *
 * @example
 * ```ts
 * const [top]: StackFrame[] = getStackFrames(err.stack)
 * if (top?.mapped) console.log(`thrown at ${top.file}:${top.line} (original source)`)
 * ```
 */
export interface StackFrame {
  /** '' when anonymous; an `async ` prefix is moved into {@link StackFrame.async}. */
  functionName: string
  async: boolean
  /** Absolute path (file:// URLs converted), `node:…` as given, or markers such as `<anonymous>`. */
  file: string
  /** 1-based; the original source's line when a source map applied. */
  line?: number
  /** 1-based; the original source's column when a source map applied. */
  column?: number
  origin: FrameOrigin
  /** True when a source map moved the location from generated JS to the original source. */
  mapped: boolean
  /** Up to `radius` lines either side of `line`; undefined when the source is unreadable. */
  context?: SourceLine[]
}

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

const MAX_LINE_CHARS = 500
// Real frame lines are short; refusing long ones keeps the regexes linear on hostile input.
const MAX_FRAME_LINE_CHARS = 8192
const MAPPING_URL = /^\s*\/\/[#@]\s*sourceMappingURL=(\S+)\s*$/
const DATA_URL = /^data:application\/json(?:;charset=[^;,]*)?(;base64)?,(.*)$/s

interface LoadedMap {
  map: SourceMap
  sources: string[]
  contents: unknown[]
  split: (string[] | undefined)[]
  sourceRoot: string
  base: URL
  weight: number
}

// Keyed by the generated file; `generated` is its lines array, which a re-read (the file changed) replaces.
const mapCache = new Lru<{ generated: string[]; loaded: LoadedMap | undefined }>(FILE_CACHE_CHARS)

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

/**
 * Where the frames start. A stack that begins with the header exactly skips
 * it; otherwise (scrubbed, cut, or a message changed after the throw) as many
 * lines as the header has are skipped, and when that is not the whole stack
 * the frames still have to pass the file checks before any source is read.
 */
function skipHeader(stack: string, header: string | undefined): number {
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

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback
  return Math.min(max, Math.max(min, Math.floor(value)))
}

function parseFrame(text: string): StackFrame | undefined {
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

function originOf(file: string): FrameOrigin {
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

function mapFrame(
  frame: StackFrame,
  line: number,
  generated: string[],
  radius: number,
  root: string | undefined,
): StackFrame | undefined {
  const loaded = loadMap(frame.file, generated, root)
  if (!loaded) return undefined
  const entry: Partial<SourceMapping> = loaded.map.findEntry(line - 1, (frame.column ?? 1) - 1)
  // findEntry falls back to the nearest earlier mapping, even on another line;
  // such a guess would point the page at unrelated original code.
  if (typeof entry.originalSource !== 'string' || entry.generatedLine !== line - 1) return undefined
  if (typeof entry.originalLine !== 'number' || typeof entry.originalColumn !== 'number')
    return undefined
  const file = resolveSource(entry.originalSource, loaded)
  // Node 20 reports sources[i] verbatim; compare resolved paths too in case a later Node resolves them.
  let index = loaded.sources.indexOf(entry.originalSource)
  if (index < 0)
    index = loaded.sources.findIndex((source) => resolveSource(source, loaded) === file)
  const content = index >= 0 ? loaded.contents[index] : undefined
  let lines: string[] | undefined
  if (typeof content === 'string') lines = loaded.split[index] ??= splitLines(content)
  else if (isShowable(file, root)) lines = readLines(file)
  const original = entry.originalLine + 1
  const column = entry.originalColumn + 1
  return {
    ...frame,
    file,
    line: original,
    column,
    origin: originOf(file),
    mapped: true,
    context: contextOf(lines, original, radius),
  }
}

function resolveSource(source: string, loaded: LoadedMap): string {
  try {
    const root = loaded.sourceRoot
    const absolute = source.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(source)
    const joined = root && !absolute ? (root.endsWith('/') ? root : `${root}/`) + source : source
    const url = new URL(joined, loaded.base)
    return url.protocol === 'file:' ? fileURLToPath(url) : url.href
  } catch {
    return source
  }
}

function loadMap(
  file: string,
  generated: string[],
  root: string | undefined,
): LoadedMap | undefined {
  const key = `${root}\0${file}`
  const hit = mapCache.get(key)
  if (hit?.generated === generated) return hit.loaded
  let loaded: LoadedMap | undefined
  try {
    loaded = parseMap(file, generated, root)
  } catch {
    loaded = undefined
  }
  // Misses are cached too: most plain .js files have no map, and we ask per frame.
  mapCache.set(key, { generated, loaded }, loaded?.weight ?? 0)
  return loaded
}

function parseMap(
  file: string,
  generated: string[],
  root: string | undefined,
): LoadedMap | undefined {
  let url: string | undefined
  // The comment must be at the end; looking only there avoids matching a string literal mid-file.
  for (let i = generated.length - 1; i >= 0 && i >= generated.length - 5 && !url; i--) {
    url = MAPPING_URL.exec(generated[i] ?? '')?.[1]
  }
  if (!url) return undefined
  const fileUrl = pathToFileURL(file)
  let json: string | undefined
  let base = fileUrl
  const data = DATA_URL.exec(url)
  if (data) {
    const body = data[2] ?? ''
    json = data[1] ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body)
  } else if (!url.startsWith('data:')) {
    base = new URL(url, fileUrl)
    if (base.protocol !== 'file:') return undefined
    const mapPath = fileURLToPath(base)
    // a map's embedded sources are shown: it must be the app's own map file, not any file a comment names
    if (!isShowable(mapPath, root, /\.map$/i)) return undefined
    if (statSync(mapPath).size > MAX_FILE_BYTES) return undefined
    json = readFileSync(mapPath, 'utf8')
  }
  if (!json) return undefined
  const payload: unknown = JSON.parse(json)
  if (!payload || typeof payload !== 'object') return undefined
  const raw = payload as Partial<Record<keyof SourceMapPayload, unknown>>
  const sources = Array.isArray(raw.sources) ? raw.sources.map(String) : []
  return {
    map: new SourceMap(payload as SourceMapPayload),
    sources,
    contents: Array.isArray(raw.sourcesContent) ? raw.sourcesContent : [],
    split: [],
    sourceRoot: typeof raw.sourceRoot === 'string' ? raw.sourceRoot : '',
    base,
    weight: json.length,
  }
}

function contextOf(
  lines: string[] | undefined,
  line: number,
  radius: number,
): SourceLine[] | undefined {
  // A line past the end means the file changed since the error; its context would be a lie.
  if (!lines || line < 1 || line > lines.length) return undefined
  const context: SourceLine[] = []
  const last = Math.min(lines.length, line + radius)
  for (let n = Math.max(1, line - radius); n <= last; n++) {
    const text = lines[n - 1] ?? ''
    context.push({
      line: n,
      text: text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text,
      current: n === line,
    })
  }
  return context
}
