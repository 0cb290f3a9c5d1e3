// C0 and C1 controls, DEL, and the Unicode line and paragraph separators: what can end, break or forge a line in any sink
const CONTROL_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029'
const CONTROL = new RegExp(`[${CONTROL_CLASS}]`, 'g')
const CONTROL_OR_BACKSLASH = new RegExp(`[\\\\${CONTROL_CLASS}]`, 'g')
const CONTROL_RUNS = new RegExp(`[${CONTROL_CLASS}]+`, 'g')

function escapeChar(c: string): string {
  if (c === '\\') return '\\\\'
  if (c === '\n') return '\\n'
  if (c === '\r') return '\\r'
  if (c === '\t') return '\\t'
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/**
 * Makes text safe for one terminal or log line: control characters (CR, LF,
 * ESC…) become visible escapes (`\n`, `\r`, `\t`, `\u001b`).
 *
 * @example
 * ```ts
 * escapeControl('a\nb\u001b[2J') // 'a\\nb\\u001b[2J'
 * ```
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escapeChar)
}

/**
 * `escapeControl` that escapes the backslash too, so the escaping can be
 * undone exactly: what was written is what is read back.
 *
 * @example
 * ```ts
 * escapeControlReversibly('C:\\tmp\n') // 'C:\\\\tmp\\n'
 * ```
 */
export function escapeControlReversibly(text: string): string {
  return text.replace(CONTROL_OR_BACKSLASH, escapeChar)
}

/**
 * Turns every run of control characters into one space: for a mail header
 * or a ticket title, where an escape would only be noise.
 *
 * @example
 * ```ts
 * flattenControl('card declined\r\nBcc: x') // 'card declined Bcc: x'
 * ```
 */
export function flattenControl(text: string): string {
  return text.replace(CONTROL_RUNS, ' ')
}
