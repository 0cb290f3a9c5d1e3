import { STATUS_CODES } from 'node:http'
import type { Report } from '../report/report.js'
import { formatErrorChain, type SerializedError } from '../report/serialize-error.js'
import { escapeHtml } from './html.js'
import { getErrorFrames, type StackFrame } from '../source/source-context.js'

/** The page's only style; the error page's CSP pins it by hash. */
export const DEBUG_STYLE = [
  'body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}',
  'header{background:#7a1020;color:#fff;padding:1.2rem 2rem}header h1{margin:0;font-size:1.4rem;word-break:break-word}',
  'header p{margin:.3rem 0 0;opacity:.9}main{padding:1rem 2rem;max-width:70rem}',
  'section{background:#fff;border-radius:6px;box-shadow:0 1px 3px #0002;margin:1rem 0;padding:1rem 1.2rem}',
  'h2{font-size:1.05rem;margin:0 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem;word-break:break-word}',
  'ol.frames{list-style:none;padding:0;margin:0}ol.frames li{margin:.35rem 0}',
  '.where{font-family:ui-monospace,monospace;font-size:.85rem}.fn{font-weight:600}',
  '.badge{display:inline-block;font-size:.7rem;border-radius:3px;padding:0 .35rem;margin-right:.4rem;color:#fff}',
  '.app{background:#1f6f43}.dependency{background:#6b5b95}.node{background:#8a8f98}',
  'pre{background:#f1f3f6;padding:.5rem;overflow-x:auto;margin:.3rem 0;font-size:.82rem}',
  'pre.report{white-space:pre-wrap;word-break:break-all}pre code{display:inline-block;min-width:100%}',
  'pre code span{display:block}pre .current{background:#ffe3a3}table{border-collapse:collapse;width:100%}',
  'td,th{text-align:left;vertical-align:top;padding:.2rem .5rem;border-bottom:1px solid #eee;font-family:ui-monospace,monospace;font-size:.82rem;word-break:break-all}',
  'th{width:14rem;font-weight:600}details>summary{cursor:pointer;color:#4a5261}',
].join('')

/** Everything the debug page shows. */
export interface DebugPageContent {
  status: number
  incidentId: string
  report: Report
  /** The only directory whose source files the page shows. Default `process.cwd()`. */
  appRoot?: string
}

const OPEN_APP_FRAMES = 4

function renderFrame(frame: StackFrame, appIndex: number): string {
  const where = `${escapeHtml(frame.file)}${frame.line ? `:${frame.line}${frame.column ? `:${frame.column}` : ''}` : ''}`
  const head = `<span class="badge ${frame.origin}">${frame.origin}</span><span class="where"><span class="fn">${escapeHtml(`${frame.async ? 'async ' : ''}${frame.functionName || '(anonymous)'}`)}</span> ${where}${frame.mapped ? ' (source map)' : ''}</span>`
  if (!frame.context) return `<li>${head}</li>`
  const width = String(frame.context[frame.context.length - 1]?.line ?? 0).length
  const code = frame.context
    .map(
      (l) =>
        `<span${l.current ? ' class="current"' : ''}>${String(l.line).padStart(width)}  ${escapeHtml(l.text)}</span>`,
    )
    .join('')
  // the app's own innermost frames are open; the rest, dependencies' and Node's are a click away
  const pre = `<pre><code>${code}</code></pre>`
  return frame.origin === 'app' && appIndex < OPEN_APP_FRAMES
    ? `<li>${head}${pre}</li>`
    : `<li><details><summary>${head}</summary>${pre}</details></li>`
}

function renderError(
  error: SerializedError,
  title: string,
  depth: number,
  root: string | undefined,
): string {
  const frames = getErrorFrames(error, root ? { root } : {})
  let html = `<h3>${escapeHtml(title)}${escapeHtml(error.name)}: ${escapeHtml(error.message)}</h3>`
  if (error.code) html += `<p>code <code>${escapeHtml(error.code)}</code></p>`
  let appIndex = 0
  const items = frames.map((frame) => renderFrame(frame, frame.origin === 'app' ? appIndex++ : 0))
  html += items.length ? `<ol class="frames">${items.join('')}</ol>` : '<p>(no stack)</p>'
  if (depth < 8) {
    error.errors?.forEach((member, i) => {
      html += renderError(member, `Member ${i + 1} of the AggregateError: `, depth + 1, root)
    })
    if (error.cause) html += renderError(error.cause, 'Caused by: ', depth + 1, root)
  }
  return html
}

function renderTable(rows: Record<string, unknown>): string {
  return `<table>${Object.entries(rows)
    .map(
      ([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`,
    )
    .join('')}</table>`
}

/** The debug page as HTML: the exception with its causes and source, the scrubbed request, the report. */
export function renderDebugHtml(page: DebugPageContent): string {
  const { report } = page
  const title = `${page.status} ${STATUS_CODES[page.status] ?? ''}`.trim()
  const request = report.request
  const sections = [
    report.error
      ? `<section><h2>Exception</h2>${renderError(report.error, '', 0, page.appRoot)}</section>`
      : '',
    report.logs?.length
      ? `<section><h2>Logged during the request</h2>${renderTable(Object.fromEntries(report.logs.map((l, i) => [`${i + 1}. ${l.level}`, l.message])))}</section>`
      : '',
    request
      ? `<section><h2>Request</h2>${renderTable({ method: request.method, url: request.url, route: request.route ?? '(none matched)', ip: request.ip ?? '', xhr: request.xhr, ...(request.query ? { query: request.query } : {}), ...(request.body ? { body: request.body } : {}) })}<h3>Headers (scrubbed)</h3>${renderTable(request.headers ?? {})}</section>`
      : '',
    `<section><h2>Report</h2><pre class="report">${escapeHtml(JSON.stringify(report, null, 2))}</pre></section>`,
  ]
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(`${title}: ${report.message}`)}</title><style>${DEBUG_STYLE}</style></head><body><header><h1>${escapeHtml(report.message)}</h1><p>${escapeHtml(title)} · ${escapeHtml(report.kind)} · incident <code>${escapeHtml(page.incidentId)}</code>${request ? ` · ${escapeHtml(request.method)} ${escapeHtml(request.url)}` : ''} · debug mode: never on in production</p></header><main>${sections.join('')}</main></body></html>\n`
}

/** The debug page as plain text: what a terminal or a test runner shows. */
export function renderDebugText(page: DebugPageContent): string {
  const { report } = page
  const text = `${page.status} ${STATUS_CODES[page.status] ?? ''}\nIncident: ${page.incidentId}\n${report.kind}: ${report.message}\n`
  return report.error ? `${text}${formatErrorChain(report.error)}\n` : text
}

/** The debug page as JSON: the production body plus the report and its frames. */
export function renderDebugJson(page: DebugPageContent): string {
  const { report } = page
  return `${JSON.stringify({
    error: { status: page.status, message: report.message, incident: page.incidentId },
    debug: {
      report,
      frames: getErrorFrames(report.error, page.appRoot ? { root: page.appRoot } : {}),
    },
  })}\n`
}
