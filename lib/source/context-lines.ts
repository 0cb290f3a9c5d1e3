import type { SourceLine } from './frame.js'

const MAX_LINE_CHARS = 500

/** The lines around `line`, each cut to a readable length. */
export function contextOf(
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
