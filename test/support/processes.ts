import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { isAbsolute, join } from 'node:path'

/** The repository root: children run from here so `--import tsx` and relative paths resolve as under `npm test`. */
export const ROOT = join(import.meta.dirname, '..', '..')
/** Where the child scripts of the tests live. */
export const FIXTURES = join(ROOT, 'test', 'fixtures')

/**
 * What a child runs with: tsx, and the hook that picks Express 4 under FAULTLINE_TEST_EXPRESS=4 (the child
 * inherits the environment, so it loads the same Express as the test that spawned it).
 */
export const NODE_IMPORTS: readonly string[] = [
  '--import',
  'tsx',
  '--import',
  './test/support/express-version.mjs',
]

function scriptPath(script: string): string {
  return isAbsolute(script) ? script : join(FIXTURES, script)
}

/** A TypeScript script running in its own Node process, its stdout read line by line as it comes. */
export interface RunningScript {
  child: ChildProcess
  /** Complete stdout lines so far (a last line without its newline arrives once it is complete). */
  lines: string[]
  /** Everything the child wrote to stderr so far. */
  stderr(): string
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>
  /** Waits until a stdout line matches, or fails naming what was seen. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>
}

/**
 * Starts `script` (a file name under test/fixtures, or an absolute path) with tsx, from the repository root.
 * Children inherit the environment, so c8's coverage variable reaches them too.
 */
export function spawnScript(
  script: string,
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv } = {},
): RunningScript {
  const child = spawn(process.execPath, [...NODE_IMPORTS, scriptPath(script), ...args], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  let errors = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()!
    lines.push(...parts)
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk))
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null))
    child.on('close', (code) => {
      if (partial) lines.push(partial)
      partial = ''
      resolve(code)
    })
  })
  const waitForLine = async (
    match: (line: string) => boolean,
    timeoutMs = 30_000,
  ): Promise<string> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = lines.find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${script} printed no matching line; stdout: ${JSON.stringify(lines.slice(-5))}, stderr: ${errors.slice(-500)}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { child, lines, stderr: () => errors, exited, waitForLine }
}

/** What a finished script printed. */
export interface ScriptResult {
  stdout: string
  stderr: string
  /** The exit code; null when a signal ended it. */
  code: number | null
}

/**
 * Runs `script` with tsx to its end and resolves with what it printed. A non-zero exit rejects with the
 * child's stderr in the message, unless `allowFailure` asks for the code instead (tests that assert on it).
 */
export function runScript(
  script: string,
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const argv = [...NODE_IMPORTS, scriptPath(script), ...args]
    const settings = {
      cwd: ROOT,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 << 20,
    }
    execFile(process.execPath, argv, settings, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr, code: 0 })
      const code = typeof error.code === 'number' && !error.killed ? error.code : undefined
      if (code !== undefined && options.allowFailure) return resolve({ stdout, stderr, code })
      const why = error.killed
        ? `was killed after ${settings.timeout} ms`
        : `failed (${error.code ?? error.message})`
      reject(new Error(`${script} ${why}; stderr: ${stderr.slice(-2000)}`, { cause: error }))
    })
  })
}
