/** Hourly counts summed into days: 336 hours become 14 bars. */
export function byDay(hours: number[]): number[] {
  const days: number[] = []
  // the newest day ends with the current hour: count back from the end
  for (let end = hours.length; end > 0; end -= 24) {
    let sum = 0
    for (let i = Math.max(0, end - 24); i < end; i++) sum += hours[i]!
    days.unshift(sum)
  }
  return days
}

/**
 * A bar chart as inline SVG: no script, no style attribute (the CSP allows
 * neither), only presentation attributes. Its title says what it shows, for
 * screen readers and on hover.
 */
export function sparkline(
  counts: number[],
  options: { width: number; height: number; label: string; className?: string },
): string {
  const { width, height, label } = options
  const max = Math.max(1, ...counts)
  const step = counts.length > 0 ? width / counts.length : width
  const gap = step > 3 ? 1 : 0
  let bars = ''
  counts.forEach((count, i) => {
    if (count <= 0) return
    const h = Math.max(1, Math.round((count / max) * (height - 1)))
    bars += `<rect x="${(i * step).toFixed(1)}" y="${height - h}" width="${Math.max(0.5, step - gap).toFixed(1)}" height="${h}"/>`
  })
  const total = counts.reduce((a, b) => a + b, 0)
  // the label is built from numbers and fixed words only; still, nothing unescaped goes in
  const title = `${label}: ${total}`.replace(/[&<>"']/g, '')
  return `<svg class="spark ${options.className ?? ''}" role="img" aria-label="${title}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>${title}</title><line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" stroke="#d0d5dd" stroke-width="1"/><g fill="#1f5fbf">${bars}</g></svg>`
}
