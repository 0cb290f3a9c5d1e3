// Which files a stack frame may show, and reading them: only source files inside the
// app's root, cached by mtime and size so a dev server shows edited code, not a stale copy.
import { readFileSync, realpathSync, statSync } from 'node:fs'
import { isAbsolute, relative, sep } from 'node:path'

/** Largest file (or source map) read for context. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024
// Both caches hold at most this many entries; the file cache is also capped in
// characters, since 200 files of 2 MB each would be far too much for a debug aid.
const CACHE_ENTRIES = 200
/** Characters the file cache and the source-map cache each hold at most. */
export const FILE_CACHE_CHARS = 32 * 1024 * 1024

/** A small LRU: Map keeps insertion order, so re-inserting on use keeps the oldest first. */
export class Lru<V> {
  readonly #entries = new Map<string, { value: V; weight: number }>()
  #weight = 0
  constructor(readonly maxWeight: number) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key)
    if (entry) this.set(key, entry.value, entry.weight)
    return entry?.value
  }

  set(key: string, value: V, weight = 0): void {
    const old = this.#entries.get(key)
    if (old) this.#weight -= old.weight
    this.#entries.delete(key)
    this.#entries.set(key, { value, weight })
    this.#weight += weight
    for (const [oldest, entry] of this.#entries) {
      if (oldest === key || (this.#entries.size <= CACHE_ENTRIES && this.#weight <= this.maxWeight))
        break
      this.#entries.delete(oldest)
      this.#weight -= entry.weight
    }
  }
}

const fileCache = new Lru<{ mtimeMs: number; size: number; lines: string[] | undefined }>(
  FILE_CACHE_CHARS,
)

// only code is shown: never .env, .json, keys, certificates, or anything a symlink dresses up as code
const SOURCE_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/i

/** The real path of the root whose files may be shown (default the working directory); undefined when it is gone. */
export function resolveRoot(root: string | undefined): string | undefined {
  try {
    return realpathSync(typeof root === 'string' && root ? root : process.cwd())
  } catch {
    return undefined
  }
}

/**
 * Whether a file may be shown: an existing source file whose real path (symlinks
 * followed) lies inside the root, with no dot-directory or dotfile on the way
 * except inside node_modules (pnpm keeps packages under `.pnpm`).
 */
export function isShowable(file: string, root: string | undefined, pattern = SOURCE_FILE): boolean {
  if (!root || !isAbsolute(file) || !pattern.test(file)) return false
  let real: string
  try {
    real = realpathSync(file)
  } catch {
    return false
  }
  if (!pattern.test(real)) return false
  const rel = relative(root, real)
  if (!rel || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) return false
  const segments = rel.split(sep)
  const modules = segments.indexOf('node_modules')
  return segments.every(
    (segment, i) =>
      !segment.startsWith('.') || (modules !== -1 && i > modules && i < segments.length - 1),
  )
}

/** A file's lines, cached by mtime and size; undefined when unreadable, too big or binary. */
export function readLines(file: string): string[] | undefined {
  try {
    const stats = statSync(file)
    if (!stats.isFile()) return undefined
    const hit = fileCache.get(file)
    // Compare mtime and size so a dev server shows edited source, not a stale copy.
    if (hit && hit.mtimeMs === stats.mtimeMs && hit.size === stats.size) return hit.lines
    const text = stats.size <= MAX_FILE_BYTES ? readFileSync(file, 'utf8') : '\0'
    // A NUL byte means binary; showing it would only garble the page.
    const lines = text.includes('\0') ? undefined : splitLines(text)
    fileCache.set(file, { mtimeMs: stats.mtimeMs, size: stats.size, lines }, lines ? stats.size : 0)
    return lines
  } catch {
    return undefined
  }
}

/** Splits text on any line ending, without a last empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop()
  return lines
}
