import { expect } from 'chai'
import { pbkdf2 } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import request from 'supertest'
import TransportStream from 'winston-transport'
import { createFaultline, FileTransport, StderrTransport } from '../lib/index.js'
import { createApp, createHarness, waitUntil, type Harness } from './helpers.js'
import { runScript } from './support/processes.js'
import { repeatOnStderr } from './support/stderr-repeats.js'

/** Occupies a thread of the pool for tens of milliseconds, as hashing a password does. */
function keepPoolBusy(): Promise<void> {
  return new Promise((resolve) => pbkdf2('pool', 'salt', 100_000, 32, 'sha256', () => resolve()))
}

describe('transports', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-tr-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  describe('file', () => {
    it('should append every report as one JSON line, and have all of them on disk once close() resolves', async () => {
      const file = join(dir, 'deep', 'dir', 'errors.log')
      const faultline = createFaultline({ env: false, stderr: false, file })
      const ids = Array.from({ length: 1000 }, (_, i) =>
        faultline.capture(new Error(`job ${i} failed`)),
      )
      await faultline.close()
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id: string; level: string; kind: string })
      expect(lines.map((l) => l.id)).to.deep.equal(ids)
      expect(lines[0]).to.include({
        level: 'error',
        kind: 'traceback',
        message: 'Error: job 0 failed',
      })
    })

    for (const how of ['exit', 'end'] as const)
      it(`should have every line on disk and on stderr when the process ${how === 'exit' ? 'calls process.exit() right after reporting' : 'runs out of work without close()'}`, async () => {
        const file = join(dir, 'errors.log')
        const { stdout, stderr } = await runScript('file-exit-child.ts', [file, how], {
          allowFailure: true,
        })
        const ids = JSON.parse(stdout) as string[]
        const written = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { id: string }).id)
        expect(written).to.deep.equal(ids)
        // stderr batches too: every report's header line is printed before the process goes
        const printed = ids.filter((id) => stderr.includes(id))
        expect(printed).to.deep.equal(ids)
      })

    it('should write a crash report after the lines of a write still in flight, never before them', async () => {
      const file = join(dir, 'errors.log')
      const transport = new FileTransport({ filename: file })
      for (let i = 0; i < 2000; i++)
        transport.log({ level: 'error', message: 'boom', n: i }, () => {})
      // the app keeps the thread pool busy (hashing, compression, DNS): the batch's write waits in its queue
      const busy = Array.from({ length: 4 }, () => keepPoolBusy())
      await new Promise((resolve) => setTimeout(resolve, 11))
      transport.logSync({ level: 'error', message: 'crash', n: 'crash' })
      const written = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { n: number | string }).n)
      expect(written).to.have.length(2001)
      expect(written.at(-1)).to.equal('crash')
      expect(written.slice(0, 2000)).to.deep.equal(Array.from({ length: 2000 }, (_, i) => i))
      transport.close()
      await Promise.all(busy)
    })

    it('should leave info records out by default and take them in when asked', async () => {
      const quiet = join(dir, 'quiet.log')
      const verbose = join(dir, 'verbose.log')
      const a = createFaultline({ env: false, stderr: false, file: quiet })
      const b = createFaultline({
        env: false,
        stderr: false,
        file: { filename: verbose, level: 'info' },
      })
      for (const f of [a, b]) {
        f.logger.info('an info line')
        f.capture(new Error('x'))
        await f.close()
      }
      expect(readFileSync(quiet, 'utf8').trim().split('\n')).to.have.length(1)
      expect(readFileSync(verbose, 'utf8').trim().split('\n')).to.have.length(2)
    })
  })

  describe('stderr', () => {
    let h: Harness
    let out: string
    beforeEach(() => {
      const stream = new PassThrough()
      out = ''
      stream.on('data', (chunk) => (out += chunk))
      h = createHarness({ transports: [new StderrTransport({ stream, level: 'info' })] })
    })
    afterEach(() => h.faultline.close())

    it('should print kind, status, method, path, incident id, message and stack, one escaped line per field', async () => {
      const app = createApp(h.faultline)
      app.get('/boom', () => {
        throw new Error('first line\r\nINJECTED 500 GET /fake [AAAA-BBBB-CCCC]', {
          cause: new Error('root cause'),
        })
      })
      app.use(h.faultline.errorHandler())
      await request(app).get('/boom?a=%0d%0a')
      const [report] = await h.waitForReports(1)
      await waitUntil(() => out || undefined, 10_000, 'the lines on stderr')
      const [header, ...rest] = out.split('\n')
      expect(header).to.match(
        new RegExp(
          `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z TRACEBACK 500 GET /boom\\?a=%0d%0a \\[${report!.id}\\] Error: first line\\\\r fp=${report!.fingerprint}$`,
        ),
      )
      expect(out).not.to.match(/^INJECTED/m)
      expect(rest.join('\n')).to.contain('transports.test.ts')
      expect(rest.join('\n')).to.contain('Caused by: Error: root cause')
    })

    it('should print warnings as a single line', async () => {
      const app = createApp(h.faultline)
      await request(app).get('/missing')
      const [report] = await h.waitForReports(1)
      await waitUntil(() => out || undefined, 10_000, 'the line on stderr')
      expect(out).to.match(
        new RegExp(
          `^\\S+ WARNING 404 GET /missing \\[${report!.id}\\] 404 Not Found fp=${report!.fingerprint}\\n$`,
        ),
      )
    })
  })

  describe('stderr in a storm', () => {
    it('should print the first occurrence in full and its repeats as one line saying how many, the first and last id', async () => {
      const { reports, out } = await repeatOnStderr(3)
      const [full, second, third] = reports
      const lines = out.trimEnd().split('\n')
      const [firstHeader] = lines
      expect(firstHeader).to.match(
        new RegExp(`TRACEBACK 500 GET /boom \\[${full!.id}\\] Error: replica down fp=\\w+$`),
      )
      // the full report has its stack; its repeats are one summary line after it
      expect(lines.slice(1, -1).every((line) => line.startsWith('    '))).to.equal(true)
      expect(lines.at(-1)).to.match(
        new RegExp(
          `^\\S+ TRACEBACK 2 repeat\\(s\\) of \\[${full!.id}\\] Error: replica down fp=${full!.fingerprint} \\(first ${second!.id}, last ${third!.id}\\)$`,
        ),
      )
    })

    it('should write the lines of a burst in one write, and nothing batched after close', async () => {
      const writes: string[] = []
      const stream = new Writable({
        write(chunk: Buffer, _encoding, done) {
          writes.push(String(chunk))
          done()
        },
      })
      const transport = new StderrTransport({ stream })
      const logged: unknown[] = []
      transport.on('logged', (info) => logged.push(info))
      const faultline = createFaultline({ env: false, stderr: false, transports: [transport] })
      const ids = [1, 2, 3].map((i) => faultline.capture(new Error(`job ${i} failed`)))
      await waitUntil(() => (logged.length === 3 ? logged : undefined), 10_000, 'three lines')
      expect(writes).to.have.length(1)
      expect(ids.every((id) => writes[0]!.includes(`[${id}]`))).to.equal(true)
      faultline.capture(new Error('the last one'))
      await faultline.close()
      expect(writes).to.have.length(2)
      expect(writes[1]).to.contain('Error: the last one')
    })
  })

  describe('failures', () => {
    class BrokenTransport extends TransportStream {
      override log(_info: unknown, callback: () => void): void {
        callback()
        this.emit('error', new Error('disk on fire'))
      }
    }

    class StuckTransport extends TransportStream {
      override log(_info: unknown, callback: () => void): void {
        callback()
      }
      override _final(): void {
        // never finishes: close() must not wait for it forever
      }
    }

    it('should survive a transport that emits errors, and say so on stderr once', async () => {
      const h = createHarness({ transports: [new BrokenTransport()] })
      h.faultline.capture(new Error('one'))
      h.faultline.capture(new Error('two'))
      await h.waitForReports(2)
      await new Promise((resolve) => setImmediate(resolve))
      const written = h.notices
      expect(h.noticeRecords.map((n) => n.code)).to.include('FAULTLINE_TRANSPORT_FAILED')
      expect(written.filter((line) => line.includes('disk on fire'))).to.have.length(1)
      await h.faultline.close()
    })

    it('should survive a report listener that throws', async () => {
      const h = createHarness()
      h.faultline.prependListener('report', () => {
        throw new Error('listener bug')
      })
      const original = process.stderr.write.bind(process.stderr)
      process.stderr.write = (() => true) as typeof process.stderr.write
      try {
        h.faultline.capture(new Error('x'))
      } finally {
        process.stderr.write = original
      }
      const record = await h.waitForRecord((r) => r.kind === 'traceback')
      expect(record.message).to.equal('Error: x')
      await h.faultline.close()
    })

    it('should resolve close() within its timeout even when a transport never finishes', async () => {
      const h = createHarness({ transports: [new StuckTransport()] })
      h.faultline.capture(new Error('x'))
      const started = Date.now()
      await h.faultline.close({ timeoutMs: 200 })
      expect(Date.now() - started).to.be.below(2000)
    })
  })
})
