/**
 * faultline with the README's production set-up and its defaults: reports to
 * stderr and a JSON-lines file, warnings rate-limited per client (20 a
 * minute; the rest counted in a summary), and a mail outbox of .eml files
 * (throttled per fingerprint).
 */
import { serveFaultline } from './faultline-app.js'
import { workDir } from './harness.js'

await serveFaultline({ name: 'faultline', dir: workDir('faultline') })
