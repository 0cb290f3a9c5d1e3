import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** How a tracker or viewer shows text: Redmine's Textile and CommonMark, or GitHub-style Markdown with raw HTML on. */
export type MarkupFormat = 'textile' | 'common_mark' | 'gfm'

export interface Rendered {
  html: string
  /** Every element name in the HTML, in document order. */
  elements: string[]
  /** The text a reader sees. */
  text: string
}

const SCRIPT = join(import.meta.dirname, 'render-markup.rb')

/** Whether Redmine's formatters (the redmine package) and Ruby are on this machine. */
export function canRenderMarkup(): boolean {
  if (!existsSync('/usr/share/redmine/lib/redmine/wiki_formatting/textile/formatter.rb'))
    return false
  try {
    execFileSync('ruby', ['-e', 'exit 0'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Renders each text through the real formatter, in one Ruby process. */
export function renderMarkup(items: Array<{ format: MarkupFormat; text: string }>): Rendered[] {
  const out = execFileSync('ruby', [SCRIPT], {
    input: JSON.stringify(items),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  })
  return JSON.parse(out.toString('utf8')) as Rendered[]
}
