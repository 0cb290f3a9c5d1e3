/**
 * faultline in production mode: every outcome reported to a JSON-lines file
 * and, for errors, to an outbox of .eml files (the mail transport without an
 * SMTP server). Warnings are not rate-limited, so every 404 must make one
 * report.
 */
import { readdirSync } from 'node:fs'
import { createFaultline } from '../../lib/index.js'
import { countLines } from './count.js'
import { dirSize, fileSize, serve, workDir } from './harness.js'

const dir = workDir('faultline')
const file = `${dir}/errors.log`
const outbox = `${dir}/outbox`

const faultline = createFaultline({
  appName: 'bench',
  env: false,
  debug: false,
  throwErrors: false,
  stderr: false,
  file,
  managers: ['ops@example.org'],
  mail: { outbox },
  warningLimit: false,
})

// counted as they are emitted, to check later that the file holds every one
const reports: Record<string, number> = { warning: 0, error: 0, traceback: 0 }
faultline.on('report', (report) => {
  reports[report.kind] = (reports[report.kind] ?? 0) + 1
})

function mails(): number {
  try {
    return readdirSync(outbox).filter((name) => name.endsWith('.eml')).length
  } catch {
    return 0
  }
}

await serve({
  name: 'faultline',
  before(app) {
    app.use(faultline.requestHandler())
  },
  hand(req, res) {
    req.log.error('hand-written failure: payment gateway said %s', 'declined')
    res.status(500).type('text/plain').send('Payment failed')
  },
  after(app) {
    app.use(faultline.errorHandler())
  },
  writtenBytes: () => fileSize(file) + dirSize(outbox),
  close: () => faultline.close({ timeout: 30_000 }),
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
        'file.lines': lines.lines,
        'file.warning': lines.marked.warning ?? 0,
        'file.error': lines.marked.error ?? 0,
        'file.traceback': lines.marked.traceback ?? 0,
        'file.distinctIds': lines.ids.size,
        mails: mails(),
      },
      // only a handful in smoke mode; under load the count is the evidence
      ...(lines.ids.size <= 100 ? { ids: [...lines.ids] } : {}),
    }
  },
})
