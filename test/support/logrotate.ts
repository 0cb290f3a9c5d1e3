import { existsSync, writeFileSync } from 'node:fs'
import { aptInstall, outputTail, runCommand, type CommandResult } from './apt.js'

const LOGROTATE = '/usr/sbin/logrotate'

/** Debian's logrotate, installed on first use; fails with the line to run when it cannot be. */
export async function ensureLogrotate(): Promise<string> {
  if (existsSync(LOGROTATE)) return LOGROTATE
  const result = await aptInstall(['logrotate'], Date.now() + 180_000)
  if (!existsSync(LOGROTATE))
    throw new Error(
      `logrotate is missing and could not be installed (${outputTail(result)}); run: apt-get install logrotate`,
    )
  return LOGROTATE
}

/** Rotates `file` now (-f) with one logrotate run, in `mode`, its state kept beside the file. */
export async function rotate(
  file: string,
  mode: 'create' | 'copytruncate',
  confPath: string,
): Promise<CommandResult> {
  // the directory is the test's own, not root's: logrotate refuses an insecure parent without `su`
  writeFileSync(confPath, `${file} {\n  rotate 3\n  ${mode}\n  nocompress\n  missingok\n}\n`, {
    mode: 0o644,
  })
  return runCommand(LOGROTATE, ['-f', '-s', `${confPath}.state`, confPath], 30_000)
}
