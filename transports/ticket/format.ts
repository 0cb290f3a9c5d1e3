import { describeAttribution } from '../../lib/report/attribution.js'
import { flattenControl } from '../../lib/report/control-chars.js'
import type { Report } from '../../lib/report/report.js'
import { formatErrorChain } from '../../lib/report/serialize-error.js'
import { describeTrace } from '../../lib/report/trace.js'

/** One later occurrence, kept for the batched comment. */
export interface TicketOccurrence {
  id: string
  time: string
  url?: string
}

const TITLE_MAX = 240

/**
 * The ticket's title: error type, message and route, one line, within
 * Redmine's 255 characters. Control and invisible formatting characters go,
 * and a quoted `[fp:` cannot pass for another ticket's marker.
 */
export function ticketTitle(report: Report): string {
  const where = report.request
    ? ` — ${report.request.method} ${report.request.route ?? report.request.url.split('?')[0]}`
    : ''
  const line = flattenControl(`${report.message}${where}`)
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, '')
    .replace(/\[\s*fp\s*:/gi, '[fp-')
    .replace(/\s+/g, ' ')
    .trim()
  return line.length > TITLE_MAX ? `${line.slice(0, TITLE_MAX - 1)}…` : line
}

/**
 * The ticket's body, as plain text: incident, host, first seen, the scrubbed
 * request, what was logged and the traceback with its causes. It holds what
 * the client sent (URL, Referer, User-Agent, headers) and what the app logged,
 * so it is never markup: each adapter makes it inert for its tracker
 * (`toRedmineText`, `toMarkdownBlock`).
 */
export function ticketBody(report: Report): string {
  const lines = [
    `Fingerprint: ${report.fingerprint}`,
    `First incident: ${report.id}`,
    `First seen: ${report.time}`,
    `Kind: ${report.kind}${report.status ? ` (${report.status})` : ''}`,
    `App: ${report.app}, host ${report.host}, pid ${report.pid}`,
  ]
  const spanTrace = describeTrace(report)
  if (spanTrace) lines.push(`Trace: ${spanTrace}`)
  if (report.request) {
    const r = report.request
    lines.push(`Request: ${r.method} ${r.url}${r.route ? ` (route ${r.route})` : ''}`)
    const attribution = describeAttribution(report)
    if (attribution) lines.push(`Attribution: ${attribution}`)
    if (r.referer) lines.push(`Referer: ${r.referer}`)
    if (r.userAgent) lines.push(`User agent: ${r.userAgent}`)
  }
  if (report.logs?.length)
    lines.push(
      '',
      'Logged during the request:',
      ...report.logs.map((l) => `- ${l.level}: ${l.message}`),
    )
  const trace = formatErrorChain(report.error)
  if (trace) lines.push('', 'Traceback:', trace)
  if (report.request)
    lines.push(
      '',
      'Request headers (scrubbed):',
      Object.entries(report.request.headers ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n'),
    )
  lines.push('', `faultline:fingerprint:${report.fingerprint}`)
  return lines.join('\n')
}

/**
 * Plain text as Redmine shows it verbatim under either text formatting
 * (Textile or CommonMark): one `<pre>` block, in which a `<` or `&` that could
 * open a tag or an entity is followed by a zero-width space. Textile escapes a
 * `<pre>` block's content itself and CommonMark passes it to the page as HTML,
 * so no character reference could read the same in both; the invisible space
 * does, and nothing inside can close the block, open a tag, or link anywhere.
 *
 * @example
 * ```ts
 * toRedmineText('<script>') // '<pre>\n<\u200bscript>\n</pre>'
 * ```
 */
export function toRedmineText(text: string): string {
  const inert = text
    .replace(/\r\n?/g, '\n')
    .replace(/<(?=[A-Za-z/!?])/g, '<\u200b')
    .replace(/&(?=[#A-Za-z])/g, '&\u200b')
  return `<pre>\n${inert}\n</pre>`
}

/**
 * Plain text as a Markdown fenced code block, whose fence is longer than any
 * run of backticks inside, so nothing in it renders as Markdown or HTML.
 *
 * @example
 * ```ts
 * toMarkdownBlock('a ``` b') // '````text\na ``` b\n````'
 * ```
 */
export function toMarkdownBlock(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  return `${fence}text\n${text.replace(/\r\n?/g, '\n')}\n${fence}`
}

/**
 * One line of plain text for Markdown: every ASCII punctuation character is
 * backslash-escaped (CommonMark allows it for all of them), so no emphasis,
 * link, autolink, HTML tag or entity can form; line breaks become spaces.
 *
 * @example
 * ```ts
 * toMarkdownInline('[x](https://evil.example)') // '\\[x\\]\\(https\\:\\/\\/evil\\.example\\)'
 * ```
 */
export function toMarkdownInline(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`)
}

/** The batched comment: "12 more occurrences since …, incident ids …, last seen …". */
export function occurrencesComment(
  count: number,
  since: string,
  occurrences: TicketOccurrence[],
  lastSeen: string,
): string {
  const listed = occurrences.map((o) => `- ${o.id} at ${o.time}${o.url ? ` (${o.url})` : ''}`)
  const more = count - occurrences.length
  return [
    `${count} more occurrence${count === 1 ? '' : 's'} since ${since}; last seen ${lastSeen}.`,
    '',
    'Incident ids:',
    ...listed,
    ...(more > 0 ? [`- … and ${more} more`] : []),
  ].join('\n')
}

/** The note on a reopened ticket. */
export function regressionComment(report: Report): string {
  return `Regression: seen again at ${report.time} (incident ${report.id}) after the ticket was closed, so it was reopened.`
}

// Trac keeps at most 262,144 characters in a description or comment by default
const TRAC_TEXT_MAX = 200_000

/**
 * Plain text as Trac shows it verbatim: one `{{{ }}}` code block, inside
 * which Trac's WikiFormatting does nothing. A zero-width space goes between
 * any two braces in a row and after a `#` that opens a line with `#!`, so
 * nothing inside can close the block, open a nested one or name a processor
 * (`{{{#!html`); C0 control characters become U+FFFD. Text past Trac's size
 * limit is cut, saying so.
 *
 * @example
 * ```ts
 * toTracText('}}} [[Image(x)]]') // '{{{\n}\u200b}\u200b} [[Image(x)]]\n}}}'
 * ```
 */
export function toTracText(text: string): string {
  let inert = text
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\ufffd')
    .replace(/([{}])(?=[{}])/g, '$1\u200b')
    .replace(/^(\s*)#!/gm, '$1#\u200b!')
  if (inert.length > TRAC_TEXT_MAX)
    inert = `${inert.slice(0, TRAC_TEXT_MAX)}\n… (cut at ${TRAC_TEXT_MAX} characters)`
  return `{{{\n${inert}\n}}}`
}
