/**
 * Headless Chromium for the browser tests: Debian's `chromium` package,
 * driven by playwright-core (which never downloads a browser of its own).
 *
 * A machine without Chromium gets it from apt when the tests run as root, as
 * CI does on a fresh Debian machine; anywhere else the tests fail with the
 * command to run. They never skip: a missing browser is a failure.
 */
import { constants } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import { aptInstall, outputTail } from './apt.js'

/** The Debian package the browser tests need. */
export const CHROMIUM_PACKAGE = 'chromium'
/** Where Debian's package puts its launcher. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

const INSTALL_HINT = `install Debian's package as root: apt-get update && apt-get install -y --no-install-recommends ${CHROMIUM_PACKAGE}`

/** Flags that keep Chromium quiet, offline and runnable as root in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function missing(reason: string): Error {
  return new Error(
    `headless Chromium is needed by the browser tests and ${CHROMIUM_PATH} is missing; ${reason}. To fix it, ${INSTALL_HINT}`,
  )
}

async function install(budgetMs: number): Promise<string> {
  if (process.platform !== 'linux')
    throw missing(`this is ${process.platform}, not Debian, so it cannot be installed with apt-get`)
  if (!(await isExecutable('/usr/bin/apt-get')))
    throw missing('there is no apt-get on this machine to install it with')
  if (process.getuid?.() !== 0)
    throw missing('the tests are not running as root, so they cannot install it themselves')
  const installed = await aptInstall([CHROMIUM_PACKAGE], Date.now() + budgetMs)
  // apt-get also fails when another package on the machine will not configure; Chromium may be set up all the same
  if (!installed.ok && !(await isExecutable(CHROMIUM_PATH)))
    throw missing(`installing it failed: ${outputTail(installed, 15)}`)
  if (!(await isExecutable(CHROMIUM_PATH)))
    throw missing(`apt-get installed ${CHROMIUM_PACKAGE} but ${CHROMIUM_PATH} is still not there`)
  return CHROMIUM_PATH
}

let pending: Promise<string> | undefined

/**
 * Returns the path of Debian's Chromium, installing the package first when it
 * is missing (`apt-get install -y --no-install-recommends chromium`, after an
 * `apt-get update` when the package lists do not know it yet, within `budgetMs`
 * together). Throws an
 * Error naming the package and the reason when it cannot be had.
 */
export function ensureChromium(budgetMs = 105_000): Promise<string> {
  if (!pending) {
    const attempt = (async () =>
      (await isExecutable(CHROMIUM_PATH)) ? CHROMIUM_PATH : install(budgetMs))()
    pending = attempt
    // a failed attempt is not remembered, so a later call may try again
    attempt.catch(() => {
      if (pending === attempt) pending = undefined
    })
  }
  return pending
}

/** A running headless Chromium with a profile of its own. */
export interface LaunchedBrowser {
  /** The browser's one context: pages, cookies and the viewport live here. */
  context: BrowserContext
  /** The fresh temporary profile directory; removed by `close()`. */
  userDataDir: string
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>
}

/**
 * Launches headless Chromium with a fresh temporary `--user-data-dir` (passed
 * the way Playwright requires, as the persistent context's directory), a
 * 1100×900 viewport and no network but what the test asks for.
 */
export async function launchBrowser(executablePath?: string): Promise<LaunchedBrowser> {
  const path = executablePath ?? (await ensureChromium())
  const userDataDir = await mkdtemp(join(tmpdir(), 'faultline-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 900 },
      timeout: 30_000,
    })
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true })
    throw new Error(
      `${path} did not start as headless Chromium: ${(error as Error).message}. If the browser is broken, reinstall it: apt-get install --reinstall -y --no-install-recommends ${CHROMIUM_PACKAGE}`,
      { cause: error },
    )
  }
  let closing: Promise<void> | undefined
  return {
    context,
    userDataDir,
    close: () =>
      (closing ??= (async () => {
        try {
          await context.close()
        } finally {
          await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 })
        }
      })()),
  }
}
