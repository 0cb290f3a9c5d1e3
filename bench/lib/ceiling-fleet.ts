/** The OS processes that hold bench/fleet-ceiling.ts's simulated app processes, and the messages to them. */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../../test/support/processes.js'
import type { LoadConfig } from './ceiling-load.js'

export interface Worker {
  child: ChildProcess
  stores: number
  next<T>(key: string): Promise<T>
}

function startWorker(config: LoadConfig): Worker {
  const child = fork(join(import.meta.dirname, 'ceiling-load.ts'), [JSON.stringify(config)], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
  })
  const waiting: Array<{ key: string; resolve: (v: never) => void; reject: (e: Error) => void }> =
    []
  child.on('message', (message: Record<string, unknown>) => {
    const i = waiting.findIndex((w) => w.key in message)
    if (i < 0) return
    const [w] = waiting.splice(i, 1)
    w!.resolve(message[w!.key] as never)
  })
  child.once('exit', () => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`a load process exited waiting for ${w.key}`))
  })
  return {
    child,
    stores: config.apps.length,
    next: <T>(key: string) =>
      new Promise<T>((resolve, reject) => {
        waiting.push({ key, resolve: resolve as (v: never) => void, reject })
      }),
  }
}

/**
 * N simulated processes: store i belongs to `apps[i % apps.length]`, the
 * stores dealt over at most `osProcesses` OS processes (the machine's cores:
 * more would only add switching).
 */
export async function startFleet(options: {
  url: string
  n: number
  apps: string[]
  mail: boolean
  osProcesses: number
  timeoutMs?: number
}): Promise<Worker[]> {
  const { url, n, apps, mail, timeoutMs } = options
  const count = Math.min(options.osProcesses, n)
  const workers = Array.from({ length: count }, (_, w) => {
    const mine = Array.from({ length: n }, (_, i) => i).filter((i) => i % count === w)
    return startWorker({
      url,
      apps: mine.map((i) => apps[i % apps.length]!),
      mail,
      worker: w,
      ...(timeoutMs ? { timeoutMs } : {}),
    })
  })
  const ready = await Promise.all(workers.map((w) => w.next<boolean>('ready')))
  if (!ready.every(Boolean)) throw new Error('a simulated process never reached Redis')
  return workers
}

export async function stopFleet(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      const closed = w.next('closed').catch(() => undefined)
      w.child.send({ close: true })
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))])
      if (w.child.exitCode === null) w.child.kill('SIGKILL')
    }),
  )
}
