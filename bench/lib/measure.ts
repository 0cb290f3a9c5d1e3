/**
 * One measured run of the bench: a fresh contender process, wrk's warm-up and
 * measured load, the CPU the server and everything else took meanwhile, its
 * peak memory, and the evidence it leaves when stopped, judged. It lives
 * apart from bench/run.ts, which plans the rounds and prints their lines, so
 * that how one sample is taken reads in one place.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { findContender } from './contenders.js'
import { judge } from './evidence.js'
import { coreBusyTicks, processTicks, procStatusKB, startContender } from './proc.js'
import type { Sample } from './report.js'
import { runWrk } from './wrk.js'

export interface MeasureOptions {
  out: string
  pinned: boolean
  durationS: number
  warmupS: number
  connections: number
  cpuProf: boolean
  faultlineEntry: string | undefined
}

export async function measure(
  name: string,
  route: string,
  round: number,
  retry: number,
  o: MeasureOptions,
): Promise<Sample> {
  const sample: Sample = { contender: name, route, round, problems: [] }
  // a fresh folder for every attempt: log files are appended to, and the evidence counts one attempt's lines
  const dir = join(
    o.out,
    `${name}${route.replace(/\//g, '_')}-r${round + 1}${retry ? `-retry${retry}` : ''}`,
  )
  let running
  try {
    running = await startContender(findContender(name), {
      dir,
      ...(o.pinned ? { cpu: 1 } : {}),
      cpuProf: o.cpuProf,
      ...(o.faultlineEntry ? { faultlineEntry: o.faultlineEntry } : {}),
    })
    sample.readyRssKB = running.readyRssKB
    const url = `http://127.0.0.1:${running.port}${route}`
    const wrkCpu = o.pinned ? { cpu: 0 } : {}
    await runWrk(url, { durationS: o.warmupS, connections: o.connections, ...wrkCpu })
    // other processes on either core steal from the server or from wrk: measured, so a disturbed sample can be told apart
    const before = {
      core0: coreBusyTicks(0),
      core1: coreBusyTicks(1),
      server: processTicks(running.pid),
      at: performance.now(),
    }
    sample.wrk = await runWrk(url, {
      durationS: o.durationS,
      connections: o.connections,
      ...wrkCpu,
    })
    // the server's own CPU per request: steadier than requests/s on a shared machine, where others take turns on its core
    const serverTicks = processTicks(running.pid) - before.server
    if (Number.isFinite(serverTicks) && sample.wrk.requests > 0)
      sample.cpuUsPerRequest = (serverTicks * 10_000) / sample.wrk.requests
    if (o.pinned) {
      // /proc counts in USER_HZ ticks, 100 per second on Linux
      const ticks = ((performance.now() - before.at) / 1000) * 100
      const onServerCore =
        coreBusyTicks(1) - before.core1 - (processTicks(running.pid) - before.server)
      const onWrkCore = coreBusyTicks(0) - before.core0 - sample.wrk.wrkTicks
      sample.foreignPct = Math.max(
        0,
        (Math.max(onServerCore, Number.isFinite(onWrkCore) ? onWrkCore : 0) / ticks) * 100,
      )
    }
    // the peak while under load; reading it before the stop keeps the evidence count out of it
    sample.hwmKB = procStatusKB(running.pid, 'VmHWM')
    sample.evidence = await running.stop(60_000)
    sample.stderr = {
      lines: countFileLines(join(dir, 'stderr.log')),
      requests: Object.values(sample.evidence.requests).reduce((sum, n) => sum + n, 0),
    }
    // a few requests in flight when wrk stops may be cut off: allow one per connection, twice over
    sample.problems.push(...judge(name, sample.evidence, 2 * o.connections))
    const wrongStatus =
      route === '/ok' ? sample.wrk.non2xx : sample.wrk.requests - sample.wrk.non2xx
    if (wrongStatus > 0)
      sample.problems.push(`${name} ${route}: ${wrongStatus} answers with the wrong status class`)
    if (sample.wrk.socketErrors > 0)
      sample.problems.push(`${name} ${route}: ${sample.wrk.socketErrors} socket errors`)
  } catch (err) {
    running?.kill()
    sample.problems.push(`${name} ${route}: ${err instanceof Error ? err.message : String(err)}`)
  }
  return sample
}

/** Lines in a file (0 when it cannot be read): a contender's stderr is a file the runner opened for it. */
function countFileLines(path: string): number {
  try {
    const text = readFileSync(path, 'utf8')
    let lines = 0
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++
    return text.length > 0 && !text.endsWith('\n') ? lines + 1 : lines
  } catch {
    return 0
  }
}
