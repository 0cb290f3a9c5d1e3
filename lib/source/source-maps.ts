// Moving a frame from generated JS to its original source through the file's source map.
import { readFileSync, statSync } from 'node:fs'
import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { contextOf } from './context-lines.js'
import { originOf } from './parse-frame.js'
import type { StackFrame } from './frame.js'
import {
  FILE_CACHE_CHARS,
  isShowable,
  Lru,
  MAX_FILE_BYTES,
  readLines,
  splitLines,
} from './source-files.js'

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

/** The frame at its original source, with context; `undefined` when no map covers its exact line. */
export function mapFrame(
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
