import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
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

/**
 * Makes Redmine's formatters available, installing Debian's redmine package (and the Ruby it works with) through
 * start-redmine.sh when they are missing; fails naming the package when that cannot be done.
 */
export async function ensureMarkup(): Promise<void> {
  if (canRenderMarkup()) return
  const state = mkdtempSync(join(tmpdir(), 'faultline-markup-'))
  const output = await new Promise<string>((resolve) => {
    execFile(
      'bash',
      [join(import.meta.dirname, 'start-redmine.sh'), '--install-only'],
      {
        env: { ...process.env, REDMINE_PORT: '1', REDMINE_STATE_DIR: state },
        timeout: 600_000,
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => resolve(err ? `${stdout}${stderr}${err.message}` : ''),
    )
  })
  rmSync(state, { recursive: true, force: true })
  if (!canRenderMarkup())
    throw new Error(
      `rendering ticket text through Redmine's formatters needs Ruby and Debian's redmine package (apt-get install redmine ruby): ${output.trim().split('\n').slice(-5).join(' | ')}`,
    )
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
