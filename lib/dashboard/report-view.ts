import type { Report, RequestInfo } from '../report/report.js'
import type { SerializedError } from '../report/serialize-error.js'
import { getErrorFrames } from '../source/source-context.js'
import { esc } from './layout.js'
import { describeAttribution } from '../report/attribution.js'

const MAX_CAUSES = 8
const MAX_FRAMES = 60

function renderFrames(error: SerializedError, appRoot: string): string {
  const frames = getErrorFrames(error, { root: appRoot, radius: 0, maxFrames: MAX_FRAMES })
  if (!frames.length) return error.stack ? `<pre>${esc(error.stack)}</pre>` : ''
  const items = frames.map((frame) => {
    const where = `${frame.file}${frame.line ? `:${frame.line}${frame.column ? `:${frame.column}` : ''}` : ''}`
    const mark = frame.origin === 'app' ? 'app' : 'other'
    return `<li class="${mark}" data-origin="${esc(frame.origin)}"><span class="muted small">${esc(frame.origin)}</span> ${esc(`${frame.async ? 'async ' : ''}${frame.functionName || '(anonymous)'}`)} <span>${esc(where)}</span></li>`
  })
  return `<ol class="frames">${items.join('')}</ol>`
}

function renderFields(error: SerializedError): string {
  const facts: Array<[string, unknown]> = [
    ['code', error.code],
    ['status', error.status],
    ...Object.entries(error.fields ?? {}),
  ]
  const shown = facts.filter(([, value]) => value !== undefined)
  if (!shown.length) return ''
  return `<dl class="facts">${shown.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`
}

function renderError(error: SerializedError, appRoot: string, depth: number): string {
  let html = `<p><strong>${esc(error.name)}</strong>: ${esc(error.message)}</p>${renderFields(error)}${renderFrames(error, appRoot)}`
  if (error.errors?.length)
    html += error.errors
      .slice(0, 20)
      .map(
        (member) =>
          `<div class="cause"><p class="muted small">member</p>${renderError(member, appRoot, MAX_CAUSES)}</div>`,
      )
      .join('')
  if (error.cause && depth < MAX_CAUSES)
    html += `<div class="cause"><p class="muted small">caused by</p>${renderError(error.cause, appRoot, depth + 1)}</div>`
  return html
}

function renderValue(value: unknown): string {
  if (value === undefined) return ''
  return `<pre>${esc(typeof value === 'string' ? value : JSON.stringify(value, null, 2))}</pre>`
}

function renderRequest(request: RequestInfo): string {
  const facts: Array<[string, unknown]> = [
    ['method', request.method],
    ['URL', request.url],
    ['route', request.route],
    ['IP', request.ip],
    ['user agent', request.userAgent],
    ['referer', request.referer],
    ['XHR', request.xhr ? 'yes' : 'no'],
  ]
  const headers = Object.entries(request.headers ?? {})
  return `<h2>Request</h2><dl class="facts">${facts
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>${
    headers.length
      ? `<h2>Headers</h2><dl class="facts">${headers.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`
      : ''
  }${request.query !== undefined ? `<h2>Query</h2>${renderValue(request.query)}` : ''}${
    request.body !== undefined ? `<h2>Body</h2>${renderValue(request.body)}` : ''
  }`
}

/**
 * A report as the view shows it: message, the error with its cause chain and
 * its stack (the app's own frames told apart), logged lines, the scrubbed
 * request. Everything in it is escaped: it is data a stranger could shape.
 */
export function renderReport(report: Report, appRoot: string): string {
  let html = `<h2>Message</h2><pre class="message">${esc(report.message)}</pre>`
  if (report.suspicious) html += `<p>Suspicious: ${esc(report.suspicious)}</p>`
  const attribution = describeAttribution(report)
  if (attribution) html += `<p class="attribution">Attribution: ${esc(attribution)}</p>`
  if (report.error) html += `<h2>Error</h2>${renderError(report.error, appRoot, 0)}`
  if (report.logs?.length)
    html += `<h2>Logged</h2><pre>${report.logs.map((l) => esc(`${l.level}: ${l.message}`)).join('\n')}</pre>`
  if (report.request) html += renderRequest(report.request)
  const facts: Array<[string, unknown]> = [
    ['incident', report.id],
    ['time', report.time],
    ['status', report.status],
    ['host', report.host],
    ['pid', report.pid],
    ['locus', report.locus],
    ['attribution', report.attribution],
    ['trace', report.trace_id],
  ]
  html += `<h2>Report</h2><dl class="facts">${facts
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>`
  return html
}
