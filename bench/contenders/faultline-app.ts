/**
 * faultline as a user runs it: the package as built (dist/, when the runner
 * names it in BENCH_FAULTLINE; the TypeScript sources otherwise, as in smoke
 * mode), with the options of the README's production set-up and its
 * defaults — stderr on, the warning limit on — plus a mail outbox, and
 * `notFound()` and `errorHandler()` with the README's JSON renderer. Shared by
 * the `faultline` and `faultline-all` contenders, which differ only in the
 * transports they add.
 */
import { readdirSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type * as Faultline from '../../lib/index.js'
import { countLines } from './count.js'
import { dirSize, fileSize, serve } from './harness.js'

type Package = typeof Faultline

/** The package under test: the build the runner made, or the sources. */
async function loadPackage(): Promise<Package> {
  const built = process.env.BENCH_FAULTLINE
  return (await import(built ? pathToFileURL(built).href : '../../lib/index.js')) as Package
}

/** Where a contender's files go, and what it adds to the README's options. */
export interface FaultlineSetup {
  name: string
  dir: string
  extra?: Partial<Faultline.FaultlineOptions>
  /** More evidence, read once faultline closed. */
  counts?: () => Record<string, number>
  /** More bytes written (tickets), for the unwritten-at-stop figure. */
  writtenBytes?: () => number
}

function countEml(outbox: string): number {
  try {
    return readdirSync(outbox).filter((name) => name.endsWith('.eml')).length
  } catch {
    return 0
  }
}

// the README's renderer: the API's own error shape for JSON clients, faultline's page for everyone else
function render({ type, status, reason, exposedMessage, incidentId }: Faultline.ErrorPageContext) {
  if (type !== 'json') return undefined
  return JSON.stringify({ message: exposedMessage ?? reason, code: status, incidentId })
}

export async function serveFaultline(setup: FaultlineSetup): Promise<void> {
  const { createFaultline } = await loadPackage()
  const file = `${setup.dir}/errors.log`
  const outbox = `${setup.dir}/outbox`
  const faultline = createFaultline({
    appName: 'bench',
    file,
    // the README's hosts, and the one wrk sends
    allowedHosts: ['shop.example', '.shop.example', 'localhost', '127.0.0.1'],
    scrub: { fields: ['iban'] },
    managers: ['ops@example.org'],
    mail: { outbox },
    // where the README's set-up keeps undelivered reports (faultline-spool/ in the working directory), per run
    spoolDir: `${setup.dir}/spool`,
    ...setup.extra,
  })

  // counted as they are emitted, to check later that the file holds every one; a rate-limit summary counts what it held back
  const reports: Record<string, number> = { warning: 0, error: 0, traceback: 0 }
  let warnings = 0
  let heldBack = 0
  faultline.on('report', (report) => {
    reports[report.kind] = (reports[report.kind] ?? 0) + 1
    if (report.dropped) heldBack += report.dropped.total
    else if (report.kind === 'warning') warnings++
  })

  await serve({
    name: setup.name,
    before(app) {
      app.use(faultline.requestHandler())
    },
    hand(req, res) {
      req.log.error('hand-written failure: payment gateway said %s', 'declined')
      res.status(500).type('text/plain').send('Payment failed')
    },
    after(app) {
      app.use(faultline.notFound({ render }))
      app.use(faultline.errorHandler({ render }))
    },
    writtenBytes: () => fileSize(file) + dirSize(outbox) + (setup.writtenBytes?.() ?? 0),
    close: () => faultline.close({ timeoutMs: 30_000 }),
    async counts() {
      const lines = await countLines(
        file,
        { warning: '"kind":"warning"', error: '"kind":"error"', traceback: '"kind":"traceback"' },
        /"id":"([^"]+)"/,
      )
      return {
        counts: {
          'reports.warning': reports.warning ?? 0,
          'reports.error': reports.error ?? 0,
          'reports.traceback': reports.traceback ?? 0,
          // every 404 is either reported or counted by the warning limit's summary
          'warnings.accounted': warnings + heldBack,
          'warnings.heldBack': heldBack,
          'file.lines': lines.lines,
          'file.warning': lines.marked.warning ?? 0,
          'file.error': lines.marked.error ?? 0,
          'file.traceback': lines.marked.traceback ?? 0,
          'file.distinctIds': lines.ids.size,
          mails: countEml(outbox),
          ...setup.counts?.(),
        },
        // only a handful in smoke mode; under load the count is the evidence
        ...(lines.ids.size <= 100 ? { ids: [...lines.ids] } : {}),
      }
    },
  })
}
