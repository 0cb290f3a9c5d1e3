import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Harness } from '../helpers.js'

/** What a test of a describe block gets afresh: a temporary directory, and the harness it opens. */
export interface Scratch {
  dir: string
  h: Harness | undefined
}

/**
 * For each test: a new temporary directory (a spool, an outbox) before it, and after it the harness
 * it opened closed within `closeMs` and the directory removed.
 */
export function scratchPerTest(prefix: string, closeMs: number): Scratch {
  const scratch: Scratch = { dir: '', h: undefined }
  beforeEach(() => {
    scratch.dir = mkdtempSync(join(tmpdir(), prefix))
  })
  afterEach(async () => {
    await scratch.h?.faultline.close({ timeoutMs: closeMs })
    scratch.h = undefined
    rmSync(scratch.dir, { recursive: true, force: true })
  })
  return scratch
}
