/**
 * Runs wrk against one URL and reads its summary: requests/s, the latency
 * percentiles of `--latency`, non-2xx answers and socket errors.
 */
import { execFileSync, spawn } from 'node:child_process'
import { processTicks } from './proc.js'

export interface WrkResult {
  rps: number
  /** Latency percentiles in milliseconds. */
  p50: number
  p99: number
  requests: number
  non2xx: number
  socketErrors: number
  /** CPU time wrk used, in clock ticks, as last sampled before it exited (every 250 ms). */
  wrkTicks: number
}

export interface WrkOptions {
  durationS: number
  connections: number
  /** Core to pin wrk to with taskset, if any. */
  cpu?: number
}

/** Whether wrk is on the PATH. */
export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' })
    return true
  } catch (err) {
    // wrk --version prints its banner and exits 1; only a missing binary is ENOENT
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

function toMs(value: string, unit: string): number {
  const n = Number(value)
  if (unit === 'us') return n / 1000
  if (unit === 's') return n * 1000
  if (unit === 'm') return n * 60_000
  return n
}

export function parseWrk(output: string): Omit<WrkResult, 'wrkTicks'> {
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output)
    return match ? toMs(match[1]!, match[2]!) : NaN
  }
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output)
  const requests = /^\s+(\d+) requests in /m.exec(output)
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  if (!rps || !requests) throw new Error(`could not read wrk's output:\n${output}`)
  return {
    rps: Number(rps[1]),
    p50: percentile('50'),
    p99: percentile('99'),
    requests: Number(requests[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  }
}

/** Runs wrk once, bounded: killed if it overruns its duration by 30 s. */
export function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const wrkArgs = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--latency',
    '--timeout',
    '5s',
    url,
  ]
  const [command, args] =
    options.cpu === undefined
      ? ['wrk', wrkArgs]
      : ['taskset', ['-c', String(options.cpu), 'wrk', ...wrkArgs]]
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.durationS + 30) * 1000)
    // taskset execs wrk, so the pid is wrk's; its CPU time tells other processes' share of its core apart
    let wrkTicks = NaN
    const sampler = setInterval(() => {
      const ticks = processTicks(child.pid ?? -1)
      if (Number.isFinite(ticks)) wrkTicks = ticks
    }, 250)
    child.once('error', reject)
    child.once('close', () => {
      clearTimeout(timer)
      clearInterval(sampler)
      try {
        resolve({ ...parseWrk(output), wrkTicks })
      } catch (err) {
        reject(err)
      }
    })
  })
}
