import { createHash } from 'node:crypto'
import type { Request, Response } from 'express'
import { escapeHtml } from '../pages/html.js'

const STYLE = [
  'body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}',
  'header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}',
  'header a{color:#fff;text-decoration:none;font-weight:600}',
  'header form{margin-left:auto;display:flex;gap:.4rem}',
  'main{padding:1rem 1.2rem;max-width:90rem}',
  'h1{font-size:1.3rem;margin:.2rem 0 .8rem;overflow-wrap:anywhere}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}',
  'table{border-collapse:collapse;width:100%;background:#fff}',
  'th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e4e7ec;vertical-align:top}',
  'th{font-size:.8rem;color:#5b6472;font-weight:600}',
  'td.title{overflow-wrap:anywhere;max-width:32rem}td.num{text-align:right;font-variant-numeric:tabular-nums}',
  'a{color:#1f5fbf}.muted{color:#5b6472}.small{font-size:.8rem}',
  '.kind,.status{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.75rem;font-weight:600}',
  '.kind-traceback{background:#fde2e1;color:#a4161a}.kind-error{background:#ffe8cc;color:#8a4b00}.kind-warning{background:#fff6c7;color:#6b5900}',
  '.status-open{background:#e4e7ec}.status-resolved{background:#d3f2dc;color:#1b6b34}.status-regressed{background:#a4161a;color:#fff}.status-muted{background:#e0e0f8;color:#383880}',
  'form.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;margin:0 0 .8rem}',
  'form.filters label{display:flex;flex-direction:column;font-size:.75rem;color:#5b6472}',
  'form.inline{display:inline}.actions{display:flex;gap:.4rem;flex-wrap:wrap;margin:.6rem 0}',
  'button{font:inherit;padding:.2rem .7rem;cursor:pointer}input,select{font:inherit}',
  'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dl.facts dt{color:#5b6472}dl.facts dd{margin:0;overflow-wrap:anywhere}',
  'pre{background:#fff;border:1px solid #e4e7ec;padding:.6rem;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem}',
  'ol.frames{list-style:none;padding:0;margin:0;font:.8rem ui-monospace,monospace}ol.frames li{padding:.15rem .4rem;overflow-wrap:anywhere}',
  'ol.frames li.app{background:#fff;border-left:3px solid #1f5fbf;font-weight:600}ol.frames li.other{color:#5b6472}',
  '.cause{border-left:3px solid #e4e7ec;padding-left:.8rem;margin:.6rem 0}',
  'svg.spark{display:block}.pager{margin:.8rem 0;display:flex;gap:1rem}',
].join('')

/** The view's CSP: its one stylesheet pinned by hash, no script of any kind, forms only to itself. */
export const DASHBOARD_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; img-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`

/** Escapes any value for HTML text and attributes; `undefined` is the empty string. */
export function esc(value: unknown): string {
  return value === undefined || value === null ? '' : escapeHtml(String(value))
}

/**
 * The relative path from the page being answered to the view's root, so
 * links work under any mount path, opened with or without its trailing
 * slash: `./` at `/ops/`, `./ops/` at `/ops`, `../` at `/ops/issues/x`.
 */
export function rootOf(req: Request): string {
  const full = (req.originalUrl ?? req.url).split('?')[0]!
  const inner = req.path
  if (inner === '/' || inner === '') {
    if (full.endsWith('/')) return './'
    const last = full.slice(full.lastIndexOf('/') + 1)
    return `./${last}/`
  }
  // each slash after the first is one directory below the root
  const slashes = inner.split('/').length - 1
  return slashes <= 1 ? './' : '../'.repeat(slashes - 1)
}

/** A time as the view prints it: UTC to the second, and how long ago. */
export function formatTime(iso: string | undefined, now: number): string {
  if (!iso) return ''
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return esc(iso)
  return `<time datetime="${esc(iso)}">${esc(iso.slice(0, 19).replace('T', ' '))}Z</time> <span class="muted small">${esc(ago(now - ms))}</span>`
}

function ago(ms: number): string {
  if (ms < 0) return ''
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.floor(hours / 24)} days ago`
}

/** A whole page: header with the incident lookup, then `body`. */
export function renderPage(root: string, title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${esc(title)} · faultline</title><style>${STYLE}</style></head><body>
<header><a href="${esc(root)}">faultline · incidents</a><form method="get" action="${esc(root)}incidents" role="search"><label for="incident-id" class="small">Incident id</label><input id="incident-id" name="id" placeholder="7KQ2-M9XD-4TRA" autocomplete="off" spellcheck="false" size="16" maxlength="40"><button type="submit">Open</button></form></header>
<main>${body}</main></body></html>
`
}

/** Sends an HTML page with the view's headers: strict CSP, no caching, no sniffing. */
export function sendHtml(res: Response, status: number, html: string): void {
  res.status(status)
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP)
  sendCommon(res, html)
}

/** Sends JSON with the view's headers. */
export function sendJson(res: Response, status: number, value: unknown): void {
  res.status(status)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'")
  sendCommon(res, `${JSON.stringify(value)}\n`)
}

/** A plain-text answer: the refused request's 404, a bad request, a store that did not answer. */
export function sendText(res: Response, status: number, text: string): void {
  res.status(status)
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'")
  sendCommon(res, `${text}\n`)
}

function sendCommon(res: Response, body: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff')
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Referrer-Policy', 'no-referrer')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'))
  res.end(res.req.method === 'HEAD' ? undefined : body, 'utf8')
}
