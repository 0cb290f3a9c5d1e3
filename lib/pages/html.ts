/**
 * Escapes text for HTML element content and attribute values: every `&`,
 * `<`, `>`, `"` and `'` becomes a character reference, so a message or URL
 * holding markup renders as text.
 *
 * @example
 * ```ts
 * escapeHtml('<script>alert(1)</script>') // '&#60;script&#62;alert(1)&#60;/script&#62;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
