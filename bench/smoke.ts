/**
 * Smoke mode: one request per route per contender, with fetch (no wrk), then
 * the evidence check with no slack. Part of `npm test` through
 * test/bench-smoke.test.ts; also `npm run bench -- --smoke`.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROUTES, type Evidence } from './lib/routes.js'
import { DEFAULT_CONTENDERS, findContender } from './lib/contenders.js'
import { judge } from './lib/evidence.js'
import { startContender } from './lib/proc.js'

export const EXPECTED_STATUS: Record<string, number> = {
  '/ok': 200,
  '/missing': 404,
  '/boom': 500,
  '/async-boom': 500,
  '/hand': 500,
}

export interface SmokeResult {
  contender: string
  statuses: Record<string, number>
  evidence?: Evidence
  problems: string[]
}

async function smokeOne(name: string, dir: string): Promise<SmokeResult> {
  const running = await startContender(findContender(name), { dir: join(dir, name) })
  const statuses: Record<string, number> = {}
  const problems: string[] = []
  const incidentIds: string[] = []
  try {
    for (const route of ROUTES) {
      const response = await fetch(`http://127.0.0.1:${running.port}${route}`, {
        signal: AbortSignal.timeout(10_000),
      })
      await response.arrayBuffer()
      statuses[route] = response.status
      if (response.status !== EXPECTED_STATUS[route])
        problems.push(
          `${name} ${route}: status ${response.status}, expected ${EXPECTED_STATUS[route]}`,
        )
      const id = response.headers.get('x-incident-id')
      if (id) incidentIds.push(id)
    }
  } catch (err) {
    running.kill()
    return {
      contender: name,
      statuses,
      problems: [...problems, `${name}: ${err instanceof Error ? err.message : String(err)}`],
    }
  }
  const evidence = await running.stop(30_000)
  problems.push(...judge(name, evidence, 0))
  if (name.startsWith('faultline')) {
    // every error answer (the 404 of notFound() too) carries its incident id, and that id is in the log file
    if (incidentIds.length !== 4)
      problems.push(`${name}: ${incidentIds.length} X-Incident-Id headers on the 4 error routes`)
    for (const id of incidentIds)
      if (!evidence.ids?.includes(id))
        problems.push(`${name}: incident ${id} answered but not in the log file`)
  }
  return { contender: name, statuses, evidence, problems }
}

/** Runs the smoke mode; resolves with one result per contender. */
export async function runSmoke(names: string[] = DEFAULT_CONTENDERS): Promise<SmokeResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-smoke-'))
  const results: SmokeResult[] = []
  for (const name of names) results.push(await smokeOne(name, dir))
  return results
}
