// What the unit tests share: throwaway directories, a process id nobody owns, and a plain report.
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Report } from '../../lib/report/report.js'

/** A fresh directory under the system's temp dir, and how to remove it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `faultline-unit-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A process id no process has right now: what a crashed process's segments are named after. */
export function deadPid(): number {
  for (let pid = 4_000_000; pid > 3_000_000; pid -= 997) if (!isAlive(pid)) return pid
  throw new Error('no free process id found')
}

/** Renames this process's spool segments as if a process that died had written them. */
export function orphanSegments(dir: string, pid = deadPid()): number {
  const mine = `seg-${process.pid}-`
  for (const name of readdirSync(dir).filter((n) => n.startsWith(mine)))
    renameSync(join(dir, name), join(dir, `seg-${pid}-${name.slice(mine.length)}`))
  return pid
}

/** The spool's segment files in a directory. */
export function segments(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.jsonl'))
}

/** A report as the transports receive it; `overrides` change what a test is about. */
export function makeReport(overrides: Partial<Report> = {}): Report {
  return {
    id: 'AAAA-BBBB-CCCC',
    kind: 'traceback',
    level: 'error',
    status: 500,
    message: 'Error: boom',
    fingerprint: '0123456789abcdef',
    time: '2025-01-01T00:00:00.000Z',
    app: 'shop',
    host: 'web-1',
    pid: 1234,
    request: { method: 'GET', url: '/orders/7', xhr: false, body: { note: 'x'.repeat(100) } },
    ...overrides,
  }
}

/** Resolves after `ms` of real time: for the short real windows of modules that take no clock. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits until `check` holds, polling briefly; fails naming `what` past `ms`. */
export async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(2)
  }
}
