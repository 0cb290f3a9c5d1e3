import { execFile } from 'node:child_process'

/** How a command went: whether it exited 0, and the tail of what it printed, for an error message. */
export interface CommandResult {
  ok: boolean
  output: string
}

const LOCKED = /Could not get lock|Unable to lock|Unable to acquire the dpkg/i
const NEEDS_UPDATE = /Unable to locate package|has no installation candidate|Failed to fetch/i

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs a command non-interactively with a kill timeout; never rejects. */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        timeout: timeoutMs,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, output: `${stdout}${stderr}` })
        const why = error.killed
          ? `timed out after ${Math.round(timeoutMs / 1000)} s`
          : `failed (${error.code ?? error.message})`
        resolve({
          ok: false,
          output: `\`${command} ${args.join(' ')}\` ${why}\n${stdout}${stderr}`.trim(),
        })
      },
    )
  })
}

/**
 * apt-get, retrying while another process holds the dpkg/apt lock until `deadline` (epoch ms).
 * The kill timeout is generous on purpose: killing apt-get mid-install could leave dpkg half-configured.
 */
export async function aptGet(args: readonly string[], deadline: number): Promise<CommandResult> {
  for (;;) {
    const lockWait = Math.max(1, Math.min(10, Math.floor((deadline - Date.now()) / 1000)))
    const result = await runCommand(
      'apt-get',
      ['-o', `DPkg::Lock::Timeout=${lockWait}`, ...args],
      (lockWait + 120) * 1000,
    )
    if (result.ok || !LOCKED.test(result.output) || Date.now() + 2000 > deadline) return result
    await sleep(2000)
  }
}

/**
 * Installs Debian packages without recommends, running `apt-get update` once when the package lists
 * do not know them yet (a fresh image). The caller checks afterwards that what it needs is there:
 * apt-get also fails when an unrelated package on the machine will not configure.
 */
export async function aptInstall(
  packages: readonly string[],
  deadline: number,
): Promise<CommandResult> {
  const install = ['install', '-y', '--no-install-recommends', ...packages]
  const first = await aptGet(install, deadline)
  if (first.ok || !NEEDS_UPDATE.test(first.output)) return first
  await aptGet(['update'], deadline)
  return aptGet(install, deadline)
}

/** The last lines of a command's output, for an error message that must stay readable. */
export function outputTail(result: CommandResult, lines = 3): string {
  return result.output.trim().split('\n').slice(-lines).join(' | ')
}
