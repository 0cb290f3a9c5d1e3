import type { IncidentRecord, IssueDetail } from '../store/types.js'
import { esc, formatTime, renderPage } from './layout.js'
import { ticketLink } from './list-page.js'
import { renderReport } from './report-view.js'
import { byDay, sparkline } from './sparkline.js'

/** What the issue and incident pages need besides the issue. */
export interface IssuePageContext {
  root: string
  csrf: string
  now: number
  appRoot: string
  /** Hourly counts of the last 14 days. */
  hours: number[]
}

const MUTES: Array<[string, string]> = [
  ['hour', 'Mute 1 hour'],
  ['day', 'Mute 1 day'],
  ['week', 'Mute 1 week'],
]

function actionForm(
  ctx: IssuePageContext,
  fingerprint: string,
  action: string,
  label: string,
): string {
  return `<form class="inline" method="post" action="${esc(`${ctx.root}issues/${encodeURIComponent(fingerprint)}`)}"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><input type="hidden" name="action" value="${esc(action)}"><button type="submit" name="do" value="${esc(action)}">${esc(label)}</button></form>`
}

function renderActions(ctx: IssuePageContext, issue: IssueDetail): string {
  const forms: string[] = []
  if (issue.status !== 'resolved')
    forms.push(actionForm(ctx, issue.fingerprint, 'resolve', 'Resolve'))
  if (issue.mutedUntil) forms.push(actionForm(ctx, issue.fingerprint, 'unmute', 'Unmute'))
  else
    for (const [span, label] of MUTES)
      forms.push(actionForm(ctx, issue.fingerprint, `mute-${span}`, label))
  return `<div class="actions">${forms.join('')}</div>`
}

function renderFacts(ctx: IssuePageContext, issue: IssueDetail): string {
  const status = `<span class="status status-${esc(issue.status)}">${esc(issue.status)}</span>${
    issue.status === 'regressed'
      ? ' <span class="small">happened again after it was resolved</span>'
      : ''
  }`
  const facts: Array<[string, string]> = [
    ['status', status],
    ['kind', `<span class="kind kind-${esc(issue.kind)}">${esc(issue.kind)}</span>`],
    ['count', `<span class="count">${esc(issue.count)}</span>`],
    ['route', esc(issue.route)],
    ['first seen', formatTime(issue.firstSeen, ctx.now)],
    ['last seen', formatTime(issue.lastSeen, ctx.now)],
    ['fingerprint', `<code>${esc(issue.fingerprint)}</code>`],
  ]
  if (issue.mutedUntil) facts.push(['muted until', formatTime(issue.mutedUntil, ctx.now)])
  if (issue.resolvedAt) facts.push(['resolved', formatTime(issue.resolvedAt, ctx.now)])
  if (issue.ticket) facts.push(['ticket', ticketLink(issue.ticket)])
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`
}

function renderCharts(hours: number[]): string {
  return `<h2>Count</h2><p class="small muted">last 24 hours, by hour</p>${sparkline(hours.slice(-24), { width: 480, height: 60, label: 'last 24 hours', className: 'h24' })}<p class="small muted">last 14 days, by hour</p>${sparkline(hours, { width: 672, height: 60, label: 'last 14 days', className: 'd14' })}<p class="small muted">by day: ${byDay(hours).join(' · ')}</p>`
}

function renderOccurrences(ctx: IssuePageContext, issue: IssueDetail): string {
  if (!issue.occurrences.length) return ''
  const rows = issue.occurrences.map(
    (o) =>
      `<tr><td><a href="${esc(`${ctx.root}incidents/${encodeURIComponent(o.id)}`)}"><code>${esc(o.id)}</code></a></td><td class="small">${formatTime(o.time, ctx.now)}</td><td class="title small">${esc(o.url)}</td></tr>`,
  )
  return `<h2>Recent occurrences</h2><table class="occurrences"><thead><tr><th>Incident</th><th>Time</th><th>URL</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

/** One distinct error: its facts, actions, charts, latest report and recent occurrences. */
export function renderIssuePage(ctx: IssuePageContext, issue: IssueDetail): string {
  const body = `<p class="small"><a href="${esc(ctx.root)}">← all errors</a></p><h1>${esc(issue.title || '(no message)')}</h1>${renderFacts(ctx, issue)}${renderActions(ctx, issue)}${renderCharts(ctx.hours)}${
    issue.report ? `<h2>Latest report</h2>${renderReport(issue.report, ctx.appRoot)}` : ''
  }${renderOccurrences(ctx, issue)}`
  return renderPage(ctx.root, issue.title || 'Issue', body)
}

/** One incident: its own time, URL and status, then its error's page. */
export function renderIncidentPage(
  ctx: IssuePageContext,
  incident: IncidentRecord,
  issue: IssueDetail | undefined,
): string {
  const facts: Array<[string, string]> = [
    ['incident', `<code class="incident-id">${esc(incident.id)}</code>`],
    ['time', formatTime(incident.time, ctx.now)],
    ['request', esc(`${incident.method ?? ''} ${incident.url ?? ''}`.trim())],
    ['HTTP status', esc(incident.status)],
    ['kind', `<span class="kind kind-${esc(incident.kind)}">${esc(incident.kind)}</span>`],
    ['host', esc(incident.host)],
  ]
  if (issue)
    facts.push([
      'error status',
      `<span class="status status-${esc(issue.status)}">${esc(issue.status)}</span>`,
    ])
  const own = issue?.report?.id === incident.id
  const errorPart = issue
    ? `<p class="small"><a href="${esc(`${ctx.root}issues/${encodeURIComponent(issue.fingerprint)}`)}">This error's page: ${esc(issue.count)} occurrences</a></p>${renderActions(ctx, issue)}${renderCharts(ctx.hours)}${
        issue.report
          ? `<h2>${own ? 'Its report' : 'Latest report of this error'}</h2>${own ? '' : `<p class="small muted">from incident ${esc(issue.report.id)}: the store keeps the full report of each error's latest occurrence</p>`}${renderReport(issue.report, ctx.appRoot)}`
          : ''
      }`
    : '<p class="muted">Its error is no longer kept.</p>'
  const body = `<p class="small"><a href="${esc(ctx.root)}">← all errors</a></p><h1>Incident ${esc(incident.id)}${issue ? `: ${esc(issue.title)}` : ''}</h1><dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>${errorPart}`
  return renderPage(ctx.root, `Incident ${incident.id}`, body)
}

/** The lookup found nothing: what was typed, as read, and where to look. */
export function renderNotFoundIncident(root: string, typed: string): string {
  return renderPage(
    root,
    'Incident not found',
    `<h1>No incident ${esc(typed)}</h1><p>No incident with that id was reported in the retention period (14 days by default). Check the id: it has 12 letters and digits, such as <code>7KQ2-M9XD-4TRA</code>.</p><p><a href="${esc(root)}">← all errors</a></p>`,
  )
}
