import { expect } from 'chai'
import { execFile, execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FileTransport } from '../transports/file.js'
import { captureStderr, createHarness, waitUntil } from './helpers.js'
import { getDeadPort } from './support/smtp.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const CLOSE_CHILD = join(import.meta.dirname, 'fixtures', 'close-down-child.ts')

function countOf(text: string, part: string): number {
  return text.split(part).length - 1
}

/** A real filesystem of 64 KiB, or undefined where this machine cannot mount one. */
function mountSmallDisk(dir: string): string | undefined {
  const mount = join(dir, 'disk')
  mkdirSync(mount)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], { stdio: 'ignore' })
    return mount
  } catch {
    return undefined
  }
}

/** Fills a disk to the last byte with one file; removing it frees the disk again. */
function fillDisk(mount: string): string {
  const filler = join(mount, 'filler')
  const fd = openSync(filler, 'w')
  const block = Buffer.alloc(4096, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return filler
}

describe('hostile bounds', function () {
  this.timeout(60_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-bounds-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  describe('a full disk under the file transport', () => {
    it('should hold at most maxBufferBytes, count what is dropped, warn once per outage, and resolve close()', async () => {
      const file = new FileTransport({ filename: '/dev/full', maxBufferBytes: 64 * 1024 })
      const h = createHarness({ transports: [file] })
      const stderr = await captureStderr(async () => {
        for (let i = 0; i < 2000; i++) h.faultline.capture(new Error(`disk full ${i}`))
        // a few retries into the outage, so a warning per retry would show
        await waitUntil(() => (file.stats().retried >= 3 ? true : undefined), 10_000, 'three failed writes')
        const stats = file.stats()
        expect(stats.queuedBytes).to.be.at.most(64 * 1024)
        expect(stats.queued).to.be.above(0)
        expect(stats.dropped).to.equal(2000 - stats.queued)
        await h.faultline.close({ timeout: 1000 })
      })
      expect(countOf(stderr, 'cannot write to /dev/full (ENOSPC)')).to.equal(1)
      expect(stderr).to.contain('could not be written to /dev/full at shutdown')
      expect(file.stats().dropped).to.equal(2000)
    })

    it('should write how many lines it dropped into the file once the disk has room again', async function () {
      const mount = mountSmallDisk(dir)
      if (!mount) return this.skip()
      try {
        const file = new FileTransport({ filename: join(mount, 'errors.log'), maxBufferBytes: 8 * 1024 })
        const h = createHarness({ transports: [file] })
        const filler = fillDisk(mount)
        const stderr = await captureStderr(async () => {
          const ids = Array.from({ length: 300 }, (_, i) => h.faultline.capture(new Error(`disk full ${i}`)))
          await waitUntil(() => (file.stats().retried >= 2 ? true : undefined), 10_000, 'two failed writes')
          const dropped = file.stats().dropped
          expect(dropped).to.be.above(0)
          unlinkSync(filler)
          await waitUntil(() => (file.stats().queued === 0 ? true : undefined), 10_000, 'the queued lines written')
          await h.faultline.close({ timeout: 1000 })
          const lines = readFileSync(join(mount, 'errors.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id?: string; event?: string; dropped?: number })
          const notices = lines.filter((l) => l.event === 'dropped')
          expect(notices.map((n) => n.dropped)).to.deep.equal([dropped])
          // every line is either in the file or counted in the notice
          expect(lines.filter((l) => l.id).length + dropped).to.equal(ids.length)
        })
        expect(countOf(stderr, 'cannot write to')).to.equal(1)
        expect(stderr).to.contain('can be written again')
      } finally {
        execFileSync('umount', [mount])
      }
    })
  })

  describe('close() with a receiver down, in a process with nothing else running', () => {
    const receivers: Array<[string, (port: number) => Record<string, unknown>]> = [
      ['an SMTP server', (port) => ({ mail: `smtp://127.0.0.1:${port}`, managers: ['ops@example.org'] })],
      ['a syslog receiver over TCP', (port) => ({ syslog: `tcp://127.0.0.1:${port}` })],
      ['a Redmine', (port) => ({ tickets: `redmine+http://KEY@127.0.0.1:${port}/projects/shop` })],
    ]
    for (const [name, setting] of receivers) {
      it(`should resolve and let the code after it run, with ${name} down`, async () => {
        const port = await getDeadPort()
        const options = JSON.stringify({ ...setting(port), spoolDir: join(dir, 'spool') })
        // the bound only keeps a hung child from hanging the suite; the assertion is the line printed after close()
        const { stdout } = await run(process.execPath, ['--import', 'tsx', CLOSE_CHILD, options], { cwd: ROOT, timeout: 30_000 })
        expect(stdout).to.equal('closed\n')
      })
    }
  })
})
