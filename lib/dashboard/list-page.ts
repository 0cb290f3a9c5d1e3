import type { ReportKind } from '../report/report.js'
import type { IssueQuery, IssueStatus, IssueSummary } from '../store/types.js'
import { esc, formatTime, renderPage } from './layout.js'
import { byDay, sparkline } from './sparkline.js'

const KINDS: ReportKind[] = ['traceback', 'error', 'warning']
const STATUSES: Array<IssueStatus | 'muted'> = ['open', 'regressed', 'resolved', 'muted']
/** Rows per page of the list. */
export const PAGE_SIZE = 50

/** What the list was asked for, read from the query string: anything unknown is ignored. */
export function readListQuery(query: unknown): IssueQuery & { page: number } {
  const q = (query && typeof query === 'object' ? query : {}) as Record<string, unknown>
  const one = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const kind = one(q.kind)
  const status = one(q.status)
  const route = one(q.route)?.slice(0, 500)
  const page = Math.min(Math.max(1, Number.parseInt(one(q.page) ?? '1', 10) || 1), 10_000)
  return {
    ...(KINDS.includes(kind as ReportKind) ? { kind: kind as ReportKind } : {}),
    ...(STATUSES.includes(status as IssueStatus) ? { status: status as IssueStatus } : {}),
    ...(route ? { route } : {}),
    sort: one(q.sort) === 'count' ? 'count' : 'lastSeen',
    page,
  }
}

/** What one row needs besides its summary: hourly counts of the last 14 days. */
export interface ListData {
  issues: IssueSummary[]
  total: number
  hourly: Record<string, number[]>
}

function options(values: readonly string[], selected: string | undefined, any: string): string {
  return [`<option value="">${any}</option>`]
    .concat(
      values.map(
        (v) => `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(v)}</option>`,
      ),
    )
    .join('')
}

function renderFilters(root: string, query: IssueQuery): string {
  return `<form class="filters" method="get" action="${esc(root)}">
<label>Kind<select name="kind">${options(KINDS, query.kind, 'any')}</select></label>
<label>Status<select name="status">${options(STATUSES, query.status, 'any')}</select></label>
<label>Route<input name="route" value="${esc(query.route)}" placeholder="/orders/:id" size="22"></label>
<label>Sort<select name="sort"><option value="lastSeen">last seen</option><option value="count"${query.sort === 'count' ? ' selected' : ''}>count</option></select></label>
<button type="submit">Filter</button></form>`
}

function statusBadge(issue: IssueSummary): string {
  const badge = `<span class="status status-${esc(issue.status)}">${esc(issue.status)}</span>`
  return issue.mutedUntil ? `${badge} <span class="status status-muted">muted</span>` : badge
}

/** A ticket link, only to http(s): a URL from a tracker is still never trusted to be one. */
export function ticketLink(ticket: IssueSummary['ticket']): string {
  if (!ticket) return ''
  const url = ticket.url && /^https?:\/\//i.test(ticket.url) ? ticket.url : undefined
  return url
    ? `<a href="${esc(url)}" rel="noreferrer noopener">#${esc(ticket.id)}</a>`
    : `#${esc(ticket.id)}`
}

function renderRow(root: string, issue: IssueSummary, hours: number[], now: number): string {
  const link = `${root}issues/${encodeURIComponent(issue.fingerprint)}`
  return `<tr data-fingerprint="${esc(issue.fingerprint)}">
<td><span class="kind kind-${esc(issue.kind)}">${esc(issue.kind)}</span></td>
<td class="title"><a href="${esc(link)}">${esc(issue.title || '(no message)')}</a></td>
<td class="small">${esc(issue.route)}</td>
<td class="num count">${esc(issue.count)}</td>
<td>${sparkline(hours.slice(-24), { width: 96, height: 22, label: 'last 24 hours', className: 'h24' })}</td>
<td>${sparkline(byDay(hours), { width: 84, height: 22, label: 'last 14 days', className: 'd14' })}</td>
<td class="small">${formatTime(issue.firstSeen, now)}</td>
<td class="small">${formatTime(issue.lastSeen, now)}</td>
<td>${statusBadge(issue)}</td>
<td>${ticketLink(issue.ticket)}</td></tr>`
}

function pageLink(root: string, query: IssueQuery, page: number, text: string): string {
  const params = new URLSearchParams()
  if (query.kind) params.set('kind', query.kind)
  if (query.status) params.set('status', query.status)
  if (query.route) params.set('route', query.route)
  if (query.sort === 'count') params.set('sort', 'count')
  params.set('page', String(page))
  return `<a href="${esc(`${root}?${params.toString()}`)}">${text}</a>`
}

/** The list of distinct errors: filters, one row each, pages of 50. */
export function renderListPage(
  root: string,
  query: IssueQuery & { page: number },
  data: ListData,
  now: number,
): string {
  const rows = data.issues.map((issue) =>
    renderRow(root, issue, data.hourly[issue.fingerprint] ?? [], now),
  )
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE))
  const pager =
    pages > 1
      ? `<nav class="pager">${query.page > 1 ? pageLink(root, query, query.page - 1, '← newer') : ''}<span class="muted">page ${query.page} of ${pages}</span>${query.page < pages ? pageLink(root, query, query.page + 1, 'older →') : ''}</nav>`
      : ''
  const table = rows.length
    ? `<table class="issues"><thead><tr><th>Kind</th><th>Title</th><th>Route</th><th>Count</th><th>24 h</th><th>14 days</th><th>First seen</th><th>Last seen</th><th>Status</th><th>Ticket</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p class="muted">Nothing reported matches.</p>'
  return renderPage(
    root,
    'Incidents',
    `<h1>Distinct errors <span class="muted small">${esc(data.total)} in all</span></h1>${renderFilters(root, query)}${table}${pager}`,
  )
}
