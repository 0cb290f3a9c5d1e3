import { closeSync, fstatSync, mkdirSync, openSync, stat } from 'node:fs'
import { dirname } from 'node:path'

// how often the path is checked for a rotation: one stat a second costs nothing beside a storm's writes
export const CHECK_MS = 1000

/** Opens the file for appending, its directory created if missing: O_APPEND follows a copytruncate. */
export function openAppend(filename: string): number {
  mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
  return openSync(filename, 'a', 0o640)
}

/** The identity of what a descriptor has open: device and inode, or undefined if it cannot be read. */
export function identityOf(fd: number): string | undefined {
  try {
    const { dev, ino } = fstatSync(fd)
    return `${dev}:${ino}`
  } catch {
    return undefined
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already gone: nothing is left to release
  }
}

/**
 * Whether the path now names another file than `identity` (logrotate's
 * rename-and-create, or the file removed): asked off the hot path, with an
 * asynchronous stat, and answered through `moved`. A file truncated in place
 * (copytruncate) is the same file: appends go on at its new end.
 */
export function checkMoved(
  filename: string,
  identity: string | undefined,
  moved: () => void,
): void {
  stat(filename, (err, found) => {
    if (err) {
      // the path is gone (renamed, nothing created yet): reopening creates it
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') moved()
      return
    }
    if (identity !== undefined && `${found.dev}:${found.ino}` !== identity) moved()
  })
}
