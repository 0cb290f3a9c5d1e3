import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { checkKnownKeys, describeValue as describe, EMAIL } from './option-checks.js'
import { checkStore } from './store-option.js'
import { checkLogger } from './logger-option.js'
import { applyEnvironment, blameEnvironment, checkEnvironmentValues } from './environment.js'
import { isNoticesOption, noticeChannel } from '../notices.js'
import { FaultlineConfigError } from './config-error.js'
import type { CoreOptions, ResolvedOptions, TransportSetting } from './options.js'

// an object the type checker keeps in step with CoreOptions: a new option cannot be forgotten here
const KNOWN: Record<keyof CoreOptions, true> = {
  appName: true,
  managers: true,
  mail: true,
  syslog: true,
  tickets: true,
  file: true,
  stderr: true,
  transports: true,
  logger: true,
  debug: true,
  throwErrors: true,
  scrub: true,
  allowedHosts: true,
  warningLimit: true,
  appRoot: true,
  env: true,
  spoolDir: true,
  store: true,
  handleSignals: true,
  handleProcessErrors: true,
  notices: true,
}
const KNOWN_OPTIONS = Object.keys(KNOWN)
const LEVELS = ['error', 'warn', 'info', 'debug']

function fail(field: string, expected: string, got: unknown): never {
  throw new FaultlineConfigError(
    field,
    `faultline: option "${field}" must be ${expected}; got ${describe(got)}`,
  )
}

function closest(name: string): string | undefined {
  const lower = name.toLowerCase()
  return KNOWN_OPTIONS.find(
    (known) => known.toLowerCase() === lower || known.toLowerCase().startsWith(lower.slice(0, 4)),
  )
}

function checkBoolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  return fail(field, 'true or false', value)
}

function checkPlainObject(field: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(field, 'an object', value)
  return value as Record<string, unknown>
}

/** Only the type: the transport's own resolver parses the URL and checks every field, once, when it is built. */
function checkTransport(
  field: 'mail' | 'syslog' | 'tickets',
  value: unknown,
): TransportSetting | undefined {
  if (value === undefined || typeof value === 'string') return value
  return checkPlainObject(field, value)
}

function checkFile(value: unknown): ResolvedOptions['file'] {
  if (value === undefined || value === false) return undefined
  if (typeof value === 'string') {
    if (value.trim() === '') fail('file', 'a non-empty path', value)
    return { filename: value, level: 'warn' }
  }
  const file = checkPlainObject('file', value)
  checkKnownKeys('file', file, ['filename', 'level'], 'a file option')
  if (typeof file.filename !== 'string' || file.filename.trim() === '')
    fail('file.filename', 'a non-empty path', file.filename)
  const level = file.level ?? 'warn'
  if (!['error', 'warn', 'info'].includes(level as string))
    fail('file.level', '"error", "warn" or "info"', level)
  return { filename: file.filename, level: level as 'warn' }
}

function checkStderr(
  value: unknown,
  debug: boolean,
  nodeEnv?: string,
  appLogger?: boolean,
): ResolvedOptions['stderr'] {
  if (value === false) return false
  // the app's own logger already writes where the app wants its lines: a second copy on stderr is asked for, not assumed
  if (value === undefined && appLogger) return false
  // a test run already gets each error through throw-errors: report lines would only bury the runner's output
  if (value === undefined && nodeEnv === 'test') return false
  const fallback = debug ? 'debug' : 'warn'
  if (value === undefined || value === true) return { level: fallback }
  const stderr = checkPlainObject('stderr', value)
  checkKnownKeys('stderr', stderr, ['level'], 'a stderr option')
  const level = stderr.level ?? fallback
  if (!LEVELS.includes(level as string)) fail('stderr.level', `one of ${LEVELS.join(', ')}`, level)
  return { level: level as 'warn' }
}

function checkStringList(
  field: string,
  value: unknown,
  test: (item: string) => boolean,
  expected: string,
): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) return fail(field, `an array of ${expected}`, value)
  value.forEach((item, i) => {
    if (typeof item !== 'string' || !test(item)) fail(`${field}[${i}]`, expected, item)
  })
  return value as string[]
}

function checkWarningLimit(value: unknown): ResolvedOptions['warningLimit'] {
  if (value === false) return false
  const limit = value === undefined ? {} : checkPlainObject('warningLimit', value)
  checkKnownKeys('warningLimit', limit, ['perClient', 'windowMs'], 'a warningLimit option')
  const perClient = limit.perClient ?? 20
  const windowMs = limit.windowMs ?? 60_000
  if (typeof perClient !== 'number' || !Number.isInteger(perClient) || perClient < 1)
    fail('warningLimit.perClient', 'a whole number of at least 1', perClient)
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 100)
    fail('warningLimit.windowMs', 'a number of milliseconds of at least 100', windowMs)
  return { perClient, windowMs }
}

function checkTransports(value: unknown): ResolvedOptions['transports'] {
  if (value === undefined) return []
  if (!Array.isArray(value)) return fail('transports', 'an array of winston transports', value)
  value.forEach((item, i) => {
    if (
      item === null ||
      typeof item !== 'object' ||
      typeof (item as { log?: unknown }).log !== 'function'
    ) {
      fail(`transports[${i}]`, 'a winston transport (an object with a log method)', item)
    }
  })
  return value as ResolvedOptions['transports']
}

function checkScrub(value: unknown): ResolvedOptions['scrub'] {
  if (value === undefined) return {}
  const scrub = checkPlainObject('scrub', value)
  for (const key of Object.keys(scrub)) {
    if (!['headers', 'fields', 'values', 'replacement'].includes(key))
      fail(`scrub.${key}`, 'one of headers, fields, values, replacement', key)
  }
  for (const key of ['headers', 'fields'] as const) {
    const list = scrub[key]
    if (list === undefined) continue
    if (!Array.isArray(list)) fail(`scrub.${key}`, 'an array of names or regular expressions', list)
    list.forEach((item, i) => {
      if (typeof item !== 'string' && !(item instanceof RegExp))
        fail(`scrub.${key}[${i}]`, 'a name or a regular expression', item)
    })
  }
  if (
    scrub.values !== undefined &&
    (!Array.isArray(scrub.values) || !scrub.values.every((v) => v instanceof RegExp))
  ) {
    fail('scrub.values', 'an array of regular expressions', scrub.values)
  }
  if (scrub.replacement !== undefined && typeof scrub.replacement !== 'string')
    fail('scrub.replacement', 'a string', scrub.replacement)
  return scrub as ResolvedOptions['scrub']
}

function checkNotices(value: unknown): ResolvedOptions['notices'] {
  if (!isNoticesOption(value))
    return fail('notices', "a function, 'stderr', 'emitWarning' or false", value)
  return noticeChannel(value)
}

function checkSpoolDir(value: unknown): string | false {
  if (value === false) return false
  if (value === undefined) return resolve('faultline-spool')
  if (typeof value !== 'string' || value.trim() === '')
    return fail('spoolDir', 'a directory path, or false', value)
  return resolve(value)
}

function readAppName(appRoot: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as {
      name?: unknown
    }
    if (typeof pkg.name === 'string' && pkg.name) return pkg.name
  } catch {
    // no package.json: the generic name will do
  }
  return 'app'
}

/** Whether NODE_ENV asks for debug mode; an unset NODE_ENV means production, so a forgotten variable never publishes stacks. */
export function isDebugEnvironment(nodeEnv: string | undefined): boolean {
  return nodeEnv === 'development' || nodeEnv === 'test'
}

/**
 * Validates the options and fills in the defaults, once, at start-up.
 *
 * @example
 * ```ts
 * resolveOptions({ appName: 'shop', file: 'var/log/shop.log' }, process.env)
 * ```
 */
export function resolveOptions(
  input: CoreOptions | undefined,
  processEnv: Record<string, string | undefined>,
): ResolvedOptions {
  const raw = input === undefined ? {} : checkPlainObject('options', input)
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(KNOWN, key)) {
      const hint = closest(key)
      throw new FaultlineConfigError(
        key,
        `faultline: unknown option "${key}"${hint ? `; did you mean "${hint}"?` : ''} Known options: ${KNOWN_OPTIONS.join(', ')}`,
      )
    }
  }
  if (raw.env !== undefined && raw.env !== false)
    checkEnvironmentValues(checkPlainObject('env', raw.env))
  const env =
    raw.env === false
      ? {}
      : ((raw.env as Record<string, string | undefined> | undefined) ?? processEnv)
  const { options, sources } = applyEnvironment(raw as CoreOptions, env)
  const nodeEnv = env.NODE_ENV ?? processEnv.NODE_ENV
  try {
    const checked = checkOptions(options, nodeEnv)
    return { ...checked, sources, debugCause: debugCause(checked, options, sources) }
  } catch (err) {
    throw blameEnvironment(err, sources)
  }
}

/** Who decided debug mode, as the operator would change it. */
function debugCause(
  checked: { debug: boolean; nodeEnv: string | undefined },
  options: CoreOptions,
  sources: Record<string, string>,
): string {
  if (sources.debug) return `${sources.debug}=${checked.debug ? '1' : '0'}`
  if (options.debug !== undefined) return `debug: ${String(checked.debug)}`
  return checked.nodeEnv === undefined ? 'NODE_ENV unset' : `NODE_ENV=${checked.nodeEnv}`
}

function checkOptions(
  options: CoreOptions,
  nodeEnv: string | undefined,
): Omit<ResolvedOptions, 'sources' | 'debugCause'> {
  const appRoot = options.appRoot === undefined ? process.cwd() : options.appRoot
  if (typeof appRoot !== 'string' || appRoot === '') fail('appRoot', 'a directory path', appRoot)
  if (
    options.appName !== undefined &&
    (typeof options.appName !== 'string' || !/^[\w.@/-]{1,64}$/.test(options.appName))
  ) {
    fail('appName', 'a name of 1 to 64 letters, digits, ".", "-", "_", "@" or "/"', options.appName)
  }
  const debug = checkBoolean('debug', options.debug) ?? isDebugEnvironment(nodeEnv)
  const logger = checkLogger(options.logger)
  return {
    appName: options.appName ?? readAppName(appRoot),
    managers:
      checkStringList('managers', options.managers, (s) => EMAIL.test(s), 'e-mail addresses') ?? [],
    mail: checkTransport('mail', options.mail),
    syslog: checkTransport('syslog', options.syslog),
    tickets: checkTransport('tickets', options.tickets),
    file: checkFile(options.file),
    stderr: checkStderr(options.stderr, debug, nodeEnv, logger !== undefined),
    transports: checkTransports(options.transports),
    ...(logger ? { logger } : {}),
    debug,
    throwErrors: checkBoolean('throwErrors', options.throwErrors) ?? nodeEnv === 'test',
    scrub: checkScrub(options.scrub),
    allowedHosts: checkStringList(
      'allowedHosts',
      options.allowedHosts,
      (s) => /^(\*|\.?[a-z0-9.-]+|\[[0-9a-f:.]+\])$/i.test(s),
      'host names ("example.org", ".example.org" or "*")',
    ),
    warningLimit: checkWarningLimit(options.warningLimit),
    appRoot: resolve(appRoot),
    nodeEnv,
    spoolDir: checkSpoolDir(options.spoolDir),
    store: checkStore(options.store),
    handleSignals: checkBoolean('handleSignals', options.handleSignals) ?? false,
    handleProcessErrors: checkBoolean('handleProcessErrors', options.handleProcessErrors) ?? false,
    notices: checkNotices(options.notices),
  }
}
