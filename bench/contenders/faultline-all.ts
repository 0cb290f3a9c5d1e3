/**
 * faultline with every transport on: the README's set-up (stderr, file, mail
 * outbox), plus syslog over UDP to the listener the runner starts
 * (BENCH_SYSLOG_PORT) and the embedded ticket tracker in a local folder.
 */
import { readdirSync } from 'node:fs'
import { serveFaultline } from './faultline-app.js'
import { dirSize, workDir } from './harness.js'

const dir = workDir('faultline-all')
const tickets = `${dir}/tickets`
const port = Number(process.env.BENCH_SYSLOG_PORT ?? 514)

function countTickets(): number {
  try {
    return readdirSync(tickets).filter((name) => name.endsWith('.json')).length
  } catch {
    return 0
  }
}

await serveFaultline({
  name: 'faultline-all',
  dir,
  extra: { syslog: `udp://127.0.0.1:${port}`, tickets: `local:${tickets}` },
  counts: () => ({ tickets: countTickets() }),
  writtenBytes: () => dirSize(tickets),
})
