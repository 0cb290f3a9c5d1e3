import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { getDeadPort } from './support/smtp.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const CLOSE_CHILD = join(import.meta.dirname, 'fixtures', 'close-down-child.ts')

describe('hostile bounds', function () {
  this.timeout(60_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-bounds-'))
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

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
