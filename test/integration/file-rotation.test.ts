import { expect } from 'chai'
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as yieldToIo } from 'node:timers/promises'
import { createFaultline, type Faultline } from '../../lib/index.js'
import { ensureLogrotate, rotate } from '../support/logrotate.js'
import { waitUntil } from '../helpers.js'

/** The incident ids in a file of JSON lines; none for a file that is not there. */
function idsIn(file: string): string[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  // a NUL would be a line written at its old offset past a truncation
  expect(text).not.to.contain('\u0000')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id?: string }).id)
    .filter((id): id is string => typeof id === 'string')
}

/** A bounded storm: `count` reports, yielding to I/O every 25 so writes and the rotation interleave with it. */
async function storm(faultline: Faultline, ids: string[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    ids.push(faultline.capture(new Error(`replica ${i % 7} down`)))
    if (i % 25 === 24) await yieldToIo()
  }
}

/** Keeps reporting (at most `max` more) until the file at the path has one of them: a rotation followed. */
async function stormUntilFollowed(faultline: Faultline, ids: string[], file: string, max = 4000) {
  for (let i = 0; i < max; i += 20) {
    await storm(faultline, ids, 20)
    await new Promise((resolve) => setTimeout(resolve, 25))
    if (idsIn(file).length > 0) return
  }
}

function expectEachOnce(ids: string[], files: string[]): void {
  const written = files.flatMap(idsIn)
  expect(written.length, 'lines in all the files').to.equal(ids.length)
  expect(new Set(written)).to.deep.equal(new Set(ids))
}

describe('file transport through log rotation', function () {
  this.timeout(240_000)
  let dir: string
  let file: string
  let faultline: Faultline | undefined

  before(async () => {
    await ensureLogrotate()
  })
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'faultline-rotate-'))
    file = join(dir, 'errors.log')
  })
  afterEach(async () => {
    await faultline?.close()
    faultline = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  it("should follow logrotate's rename-and-create while a storm runs, every incident in exactly one file", async () => {
    faultline = createFaultline({ env: false, stderr: false, file })
    const ids: string[] = []
    const storming = storm(faultline, ids, 1500)
    const rotated = rotate(file, 'create', join(dir, 'rotate.conf'))
    await storming
    const result = await rotated
    expect(result.ok, result.output).to.equal(true)
    expect(idsIn(`${file}.1`)).to.have.length.above(0)
    await stormUntilFollowed(faultline, ids, file)
    await faultline.close()
    expect(idsIn(file), 'lines in the new file').to.have.length.above(0)
    expectEachOnce(ids, [`${file}.1`, file])
  })

  it('should go on at the new end after a copytruncate, every incident in exactly one file', async () => {
    faultline = createFaultline({ env: false, stderr: false, file })
    const ids: string[] = []
    await storm(faultline, ids, 1500)
    // copytruncate loses what is written between its copy and its truncate (logrotate says so): the storm pauses for it
    await waitUntil(
      () => (idsIn(file).length === ids.length ? true : undefined),
      10_000,
      'the lines',
    )
    const result = await rotate(file, 'copytruncate', join(dir, 'rotate.conf'))
    expect(result.ok, result.output).to.equal(true)
    await storm(faultline, ids, 1500)
    await faultline.close()
    expect(idsIn(file).length, 'lines after the truncation').to.equal(1500)
    expectEachOnce(ids, [`${file}.1`, file])
  })

  it('should reopen on SIGHUP under handleSignals, and carry on running', async () => {
    faultline = createFaultline({ env: false, stderr: false, file, handleSignals: true })
    const ids: string[] = []
    const storming = storm(faultline, ids, 1500)
    await yieldToIo()
    renameSync(file, `${file}.1`)
    process.kill(process.pid, 'SIGHUP')
    await storming
    await faultline.close()
    expect(idsIn(file), 'lines in the new file').to.have.length.above(0)
    expectEachOnce(ids, [`${file}.1`, file])
  })

  it('should reopen when the app asks, with faultline.reopen()', async () => {
    faultline = createFaultline({ env: false, stderr: false, file })
    const ids: string[] = []
    await storm(faultline, ids, 200)
    await waitUntil(() => (idsIn(file).length === 200 ? true : undefined), 10_000, 'the lines')
    renameSync(file, `${file}.1`)
    faultline.reopen()
    await storm(faultline, ids, 200)
    await faultline.close()
    expect(idsIn(file)).to.have.length(200)
    expectEachOnce(ids, [`${file}.1`, file])
  })
})
