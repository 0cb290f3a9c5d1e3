/**
 * Starts one contender in its own process (pinned to a core when asked),
 * waits for its port, and stops it through the IPC stop protocol of
 * contenders/harness.ts, with a deadline on each step.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs'
import type { Evidence } from './routes.js'
import type { ContenderSpec } from './contenders.js'
import { startSyslogListener, type SyslogListener } from './syslog-listener.js'

export interface Running {
  spec: ContenderSpec
  pid: number
  port: number
  /** Resident memory right after start, in kB. */
  readyRssKB: number
  /** Sends stop, resolves with the evidence (or rejects after `timeoutMs`). */
  stop(timeoutMs: number): Promise<Evidence>
  kill(): void
}

export interface StartOptions {
  /** Work directory of this run of the contender (log files, outbox, stderr). */
  dir: string
  /** Core to pin the server to with taskset, if any. */
  cpu?: number
  /** Write a V8 CPU profile into `dir` on exit. */
  cpuProf?: boolean
  /** The built package's entry point, for faultline's contenders (BENCH_FAULTLINE); the sources when absent. */
  faultlineEntry?: string
  startTimeoutMs?: number
}

/** A field of /proc/<pid>/status in kB (VmHWM is the peak resident set), 0 if unreadable. */
export function procStatusKB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    )
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}

export async function startContender(spec: ContenderSpec, options: StartOptions): Promise<Running> {
  mkdirSync(options.dir, { recursive: true })
  const nodeArgs = [
    '--import',
    'tsx',
    ...spec.nodeArgs,
    ...(options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.dir] : []),
    spec.script,
    options.dir,
  ]
  const [command, args] =
    options.cpu === undefined
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(options.cpu), process.execPath, ...nodeArgs]]
  const syslog: SyslogListener | undefined = spec.syslogListener
    ? await startSyslogListener()
    : undefined
  const env: Record<string, string> = {
    ...(spec.faultline && options.faultlineEntry
      ? { BENCH_FAULTLINE: options.faultlineEntry }
      : {}),
    ...(syslog ? { BENCH_SYSLOG_PORT: String(syslog.port) } : {}),
  }
  // stderr to a file: bare Express prints every stack there, and a pipe nobody drains would stall the server
  const stderr = openSync(`${options.dir}/stderr.log`, 'a')
  const child: ChildProcess = spawn(command, args, {
    cwd: process.cwd(),
    env: { ...process.env, NODE_ENV: 'production', PORT: '0', ...env, ...spec.env },
    stdio: ['ignore', 'ignore', stderr, 'ipc'],
  })
  closeSync(stderr)
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  // the last datagrams may still be on their way when the server exits
  void exited.then(() => setTimeout(() => syslog?.close(), 300))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${spec.name} did not listen within ${options.startTimeoutMs ?? 30_000} ms (see ${options.dir}/stderr.log)`,
          ),
        ),
      options.startTimeoutMs ?? 30_000,
    )
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type === 'listening' && typeof message.port === 'number') {
        clearTimeout(timer)
        resolve(message.port)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(
        new Error(
          `${spec.name} exited with ${code} before listening (see ${options.dir}/stderr.log)`,
        ),
      )
    })
  })
  const pid = child.pid!
  return {
    spec,
    pid,
    port,
    readyRssKB: procStatusKB(pid, 'VmRSS'),
    stop(timeoutMs) {
      return new Promise<Evidence>((resolve, reject) => {
        let evidence: Evidence | undefined
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`${spec.name} gave no evidence within ${timeoutMs} ms`))
        }, timeoutMs)
        child.on('message', (message: { type?: string; evidence?: Evidence }) => {
          if (message?.type === 'evidence' && message.evidence) evidence = message.evidence
        })
        // the process exits on its own once the evidence is out; a CPU profile is written then
        void exited.then((code) => {
          clearTimeout(timer)
          if (evidence && syslog)
            setTimeout(() => {
              evidence!.counts['syslog.datagrams'] = syslog.received()
              resolve(evidence!)
            }, 200)
          else if (evidence) resolve(evidence)
          else
            reject(
              new Error(
                `${spec.name} exited with ${code} without evidence (see ${options.dir}/stderr.log)`,
              ),
            )
        })
        child.send({ type: 'stop' })
      })
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** CPU time of a process (all its threads), in clock ticks; NaN if unreadable. */
export function processTicks(pid: number): number {
  try {
    // fields after the parenthesised name: state is field 3, utime 14, stime 15
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return NaN
  }
}

/** Busy clock ticks of one core so far (everything but idle and iowait); NaN if unreadable. */
export function coreBusyTicks(core: number): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${core} `))
    const [, user, nice, system, , , irq, softirq, steal] = line!.trim().split(/\s+/).map(Number)
    return user! + nice! + system! + irq! + softirq! + steal!
  } catch {
    return NaN
  }
}
