import { expect } from 'chai'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnScript } from '../support/processes.js'
import { ensureRsyslog, startRsyslog, type Rsyslog } from '../support/rsyslog.js'
import { getTestCertificate, startSmtpServer, type TestSmtpServer } from '../support/smtp.js'

/** The bounds this test holds faultline to; the README states the same figures. */
export const STORM_BOUNDS = {
  requests: 20_000,
  ratePerSecond: 500,
  // measured 209-221 MB alone and 243-248 MB while the test process (its in-process SMTP receiver
  // included) ran under c8, slower, so more mail waits in the app's bounded queue
  peakRssMb: 290,
  healthyLatencyRatio: 5,
  closeMs: 5000,
}

function get(agent: Agent, port: number, path: string): Promise<{ status: number; ms: number }> {
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      // a response cut off mid-way fails this request, with its path, instead of the whole test run
      res.on('error', (err) => reject(new Error(`GET ${path}: ${err.message}`, { cause: err })))
      res.resume()
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        }),
      )
    })
    req.on('error', (err) => reject(new Error(`GET ${path}: ${err.message}`, { cause: err })))
    req.end()
  })
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

describe('an error storm with every transport on', function () {
  this.timeout(300_000)
  let dir: string
  let smtp: TestSmtpServer
  let rsyslog: Rsyslog
  before(async function () {
    this.timeout(180_000)
    await ensureRsyslog()
    rsyslog = await startRsyslog()
    smtp = await startSmtpServer()
    dir = mkdtempSync(join(tmpdir(), 'faultline-storm-'))
  })
  after(async () => {
    await smtp?.close()
    await rsyslog?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`should answer ${STORM_BOUNDS.requests} erroring requests, keep healthy ones fast, stay small and close in time`, async () => {
    // the server's memory is measured as an app runs it, without c8's coverage counters
    const { NODE_V8_COVERAGE: _coverage, ...env } = process.env
    const { child, lines, exited, stderr } = spawnScript(
      'storm-server.ts',
      [dir, smtp.url, getTestCertificate().certFile, `tcp://127.0.0.1:${rsyslog.tcpPort}`],
      { env },
    )
    try {
      const deadline = Date.now() + 30_000
      while (!lines.length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
      const { port } = JSON.parse(lines[0]!) as { port: number }
      const agent = new Agent({ keepAlive: true, maxSockets: 80 })

      // warmed up first, so the quiet figure is not the JIT's
      for (let i = 0; i < 500; i++) await get(agent, port, i % 2 ? '/ok' : `/boom/${i % 20}`)
      const quiet: number[] = []
      for (let i = 0; i < 500; i++) quiet.push((await get(agent, port, '/ok')).ms)

      // an open-loop storm at a steady rate the app can serve: what is measured is what reporting costs, not queueing
      let errors = 0
      const inFlight = new Set<Promise<void>>()
      const started = Date.now()
      const storm = (async () => {
        for (let n = 0; n < STORM_BOUNDS.requests && Date.now() - started < 180_000; n++) {
          const due = started + (n * 1000) / STORM_BOUNDS.ratePerSecond
          if (due > Date.now())
            await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
          while (inFlight.size >= 64) await Promise.race(inFlight)
          const p = get(agent, port, `/boom/${n % 20}`).then(({ status }) => {
            if (status === 500) errors++
            inFlight.delete(p)
          })
          inFlight.add(p)
        }
        await Promise.all(inFlight)
      })()
      const healthy: number[] = []
      let storming = true
      const prober = (async () => {
        while (storming) {
          const { status, ms } = await get(agent, port, '/ok')
          expect(status).to.equal(200)
          healthy.push(ms)
        }
      })()
      try {
        await storm
      } catch (err) {
        // the prober stops too: nothing of this test runs on into the next one
        storming = false
        await prober.catch(() => {})
        throw err
      }
      storming = false
      await prober
      agent.destroy()
      child.kill('SIGTERM')
      await exited
      const result = JSON.parse(lines.at(-1)!) as {
        closeMs: number
        peakRssMb: number
        reports: number
      }
      const ratio = median(healthy) / median(quiet)
      process.stdout.write(
        `      storm: ${errors} errors in ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${result.peakRssMb} MB, healthy p50 ${median(healthy).toFixed(2)} ms vs quiet ${median(quiet).toFixed(2)} ms (${ratio.toFixed(1)}×), close ${result.closeMs} ms\n`,
      )
      expect(errors).to.equal(STORM_BOUNDS.requests)
      expect(result.reports).to.equal(STORM_BOUNDS.requests + 250)
      expect(result.peakRssMb).to.be.below(STORM_BOUNDS.peakRssMb)
      expect(ratio).to.be.below(STORM_BOUNDS.healthyLatencyRatio)
      expect(result.closeMs).to.be.below(STORM_BOUNDS.closeMs)
      // every report reached the file
      expect(readFileSync(join(dir, 'errors.log'), 'utf8').trim().split('\n')).to.have.length(
        STORM_BOUNDS.requests + 250,
      )
    } catch (err) {
      // what the app said is the first thing to read when a storm fails
      const said = stderr().trim().split('\n').slice(-20).join('\n')
      throw new Error(
        `${(err as Error).message}\nthe storm server's stderr, last lines:\n${said}`,
        {
          cause: err,
        },
      )
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
