import { describeValue as describe, EMAIL } from './option-checks.js'
import type { CoreOptions } from './options.js'
import { FaultlineConfigError } from './config-error.js'

/**
 * Every `FAULTLINE_*` variable faultline reads, the option it fills and the
 * form it takes: the one table `createFaultline`, `faultline test-mail` and
 * `faultline doctor` read. An option the code sets wins; a variable fills in
 * only what the code leaves unset (Sentry's `SENTRY_DSN` convention).
 */
export const ENVIRONMENT_VARIABLES = [
  ['FAULTLINE_APP_NAME', 'appName', 'the app name'],
  ['FAULTLINE_MANAGERS', 'managers', 'comma-separated e-mail addresses'],
  ['FAULTLINE_MAIL', 'mail', 'smtp://user:pass@host:587, smtps://…, outbox:DIR'],
  ['FAULTLINE_SYSLOG', 'syslog', 'relp://host:2514, tls://…, tcp://…, udp://…, unix:///path'],
  ['FAULTLINE_TICKETS', 'tickets', 'redmine+https://KEY@host/projects/IDENT, local:DIR'],
  ['FAULTLINE_FILE', 'file', 'a path'],
  ['FAULTLINE_STDERR', 'stderr', '1/0, true/false, yes/no, on/off, or a level'],
  [
    'FAULTLINE_STORE',
    'store',
    "'local', redis://…, rediss://…, redis+cluster://h:p,h:p, redis+sentinel://h:p,h:p/name",
  ],
  ['FAULTLINE_DEBUG', 'debug', '1/0, true/false, yes/no, on/off'],
  ['FAULTLINE_FORCE', 'force', '1/0 (mail, syslog and tickets), or a list: mail,tickets'],
] as const

type Variable = (typeof ENVIRONMENT_VARIABLES)[number][0]
const LEVELS = ['error', 'warn', 'info', 'debug']
const FORCEABLE = ['mail', 'syslog', 'tickets'] as const

/**
 * Fails at start-up on a variable faultline reads from the `env` option that holds no string, as
 * `process.env` never does: `env.FAULTLINE_DEBUG` given `1`, say. Any other key is the app's own.
 *
 * @example
 * ```ts
 * checkEnvironmentValues({ NODE_ENV: 'production', FAULTLINE_DEBUG: 1 }) // throws naming env.FAULTLINE_DEBUG
 * ```
 */
export function checkEnvironmentValues(env: Record<string, unknown>): void {
  for (const name of ['NODE_ENV', ...ENVIRONMENT_VARIABLES.map(([variable]) => variable)]) {
    const value = env[name]
    if (value !== undefined && typeof value !== 'string')
      throw new FaultlineConfigError(
        `env.${name}`,
        `faultline: option "env.${name}" must be a string, as in process.env; got ${describe(value)}`,
      )
  }
}

/** The options the environment asks for, and which variable each came from (for messages that name it). */
export interface EnvironmentSettings {
  options: CoreOptions
  /** Option name → the variable that set it, for each option the environment filled in. */
  sources: Record<string, Variable>
}

function failVariable(name: string, expected: string, got: string): never {
  throw new FaultlineConfigError(
    name,
    `faultline: environment variable ${name} must be ${expected}; got ${describe(got)}`,
  )
}

function parseBoolean(name: string, value: string): boolean {
  const lower = value.toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true
  if (['0', 'false', 'no', 'off'].includes(lower)) return false
  return failVariable(name, 'one of 1, 0, true, false, yes, no, on, off', value)
}

function parseStderr(value: string): CoreOptions['stderr'] {
  const level = value.toLowerCase()
  if (LEVELS.includes(level)) return { level: level as 'warn' }
  if (['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'].includes(level))
    return parseBoolean('FAULTLINE_STDERR', value)
  return failVariable(
    'FAULTLINE_STDERR',
    `one of 1, 0, true, false, yes, no, on, off, or a level (${LEVELS.join(', ')})`,
    value,
  )
}

function parseManagers(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (list.length === 0 || !list.every((address) => EMAIL.test(address)))
    failVariable('FAULTLINE_MANAGERS', 'comma-separated e-mail addresses', value)
  return list
}

/** The destinations `FAULTLINE_FORCE` sends to even in debug mode. */
function parseForce(value: string): Set<string> {
  const words = value
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (words.length > 0 && words.every((w) => (FORCEABLE as readonly string[]).includes(w)))
    return new Set(words)
  return parseBoolean('FAULTLINE_FORCE', value) ? new Set(FORCEABLE) : new Set()
}

/**
 * Reads every `FAULTLINE_*` variable (blank ones count as unset) into
 * options, failing on a malformed one with the variable's name.
 *
 * @example
 * ```ts
 * readEnvironment({ FAULTLINE_MANAGERS: 'ops@example.org, dev@example.org' }).options.managers
 * ```
 */
export function readEnvironment(env: Record<string, string | undefined>): EnvironmentSettings {
  const options: Record<string, unknown> = {}
  const sources: Record<string, Variable> = {}
  const read = (name: Variable): string | undefined => {
    const value = env[name]?.trim()
    return value ? value : undefined
  }
  for (const [name, option] of ENVIRONMENT_VARIABLES) {
    const value = read(name)
    if (value === undefined) continue
    sources[option] = name
    if (option === 'managers') options.managers = parseManagers(value)
    else if (option === 'debug') options.debug = parseBoolean(name, value)
    else if (option === 'stderr') options.stderr = parseStderr(value)
    else if (option === 'force') options.force = parseForce(value)
    else options[option] = value
  }
  return { options: options as CoreOptions, sources }
}

/** Whether a destination's object setting names no target, so the environment's URL may fill it in. */
function namesNoTarget(option: string, setting: Record<string, unknown>): boolean {
  const targets: Record<string, string[]> = {
    mail: ['url', 'host', 'outbox'],
    syslog: ['url', 'host', 'path'],
    tickets: ['url', 'adapter'],
    store: ['url', 'redis', 'cluster', 'sentinel'],
  }
  return (targets[option] ?? []).every((key) => setting[key] === undefined)
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * The code's options with the environment filling in what they leave unset:
 * an option the code sets wins, and a destination object with no target
 * (say `mail: { level: 'warn' }`) takes its URL from the environment.
 * `FAULTLINE_FORCE` sets `force` on the destinations whose setting does not
 * say. Returns which options came from which variable.
 *
 * @example
 * ```ts
 * applyEnvironment({ appName: 'shop' }, { FAULTLINE_APP_NAME: 'ignored', FAULTLINE_MAIL: 'smtp://mail.example.org' })
 * ```
 */
export function applyEnvironment(
  code: CoreOptions,
  env: Record<string, string | undefined>,
): EnvironmentSettings {
  const { options: fromEnv, sources: envSources } = readEnvironment(env)
  const out: Record<string, unknown> = { ...code }
  const sources: Record<string, Variable> = {}
  const given = fromEnv as Record<string, unknown>
  for (const [option, value] of Object.entries(given)) {
    if (option === 'force') continue
    const mine = out[option]
    if (mine === undefined) {
      out[option] = value
      sources[option] = envSources[option]!
    } else if (typeof value === 'string' && isPlainObject(mine) && namesNoTarget(option, mine)) {
      out[option] = { ...mine, url: value }
      sources[option] = envSources[option]!
    }
  }
  const force = given.force as Set<string> | undefined
  for (const option of force ?? []) {
    const setting = out[option]
    if (setting === undefined) continue
    if (typeof setting === 'string') out[option] = { url: setting, force: true }
    else if (isPlainObject(setting) && setting.force === undefined)
      out[option] = { ...setting, force: true }
  }
  return { options: out as CoreOptions, sources }
}

/**
 * A start-up error about an option the environment set, reworded to name the
 * variable to fix, since the code holds no such setting.
 *
 * @example
 * ```ts
 * try { build() } catch (err) { throw blameEnvironment(err, { syslog: 'FAULTLINE_SYSLOG' }) }
 * ```
 */
export function blameEnvironment(err: unknown, sources: Record<string, string>): unknown {
  if (!(err instanceof FaultlineConfigError)) return err
  const option = /^[^.[]+/.exec(err.field)?.[0] ?? ''
  const variable = sources[option]
  if (!variable) return err
  const detail = err.message.replace(/^faultline: /, '')
  return new FaultlineConfigError(
    variable,
    `faultline: environment variable ${variable} is wrong: ${detail}`,
  )
}
