import { PassThrough } from 'node:stream'
import request from 'supertest'
import { StderrTransport, type Report } from '../../lib/index.js'
import { createApp, createHarness } from '../helpers.js'

/**
 * Raises one error `count` times through an app whose StderrTransport writes into a string, then
 * closes faultline (a summary of repeats still counted goes out then); returns the reports and
 * what was printed.
 */
export async function repeatOnStderr(count: number): Promise<{ reports: Report[]; out: string }> {
  const stream = new PassThrough()
  let out = ''
  stream.on('data', (chunk) => (out += chunk))
  const h = createHarness({ transports: [new StderrTransport({ stream })] })
  try {
    const app = createApp(h.faultline)
    app.get('/boom', () => {
      throw new Error('replica down')
    })
    app.use(h.faultline.errorHandler())
    for (let i = 0; i < count; i++) await request(app).get('/boom').expect(500)
    const reports = await h.waitForReports(count)
    await h.faultline.close()
    return { reports, out }
  } finally {
    await h.faultline.close()
  }
}
