import type { Logger } from 'winston'
import { describeValue as describe } from './option-checks.js'
import { FaultlineConfigError } from './config-error.js'

/** The app's own winston logger, as faultline writes to it: which of its levels each of faultline's takes. */
export interface AppLogger {
  logger: Logger
  /** faultline's `error`, `warn` and `info` (an aborted request) as this logger's level names. */
  levels: Record<string, string>
}

// syslog-style level sets spell warn "warning"; anything else must have faultline's three names
const SPELLINGS: Record<string, string[]> = {
  error: ['error', 'err'],
  warn: ['warn', 'warning'],
  info: ['info', 'notice'],
}

function fail(expected: string, got: unknown): never {
  throw new FaultlineConfigError(
    'logger',
    `faultline: option "logger" must be ${expected}; got ${describe(got)}`,
  )
}

/** Reads a winston logger by shape (any copy of winston, any version 3): a `log` method, `levels` and `transports`. */
function isWinstonLogger(value: unknown): value is Logger {
  if (value === null || typeof value !== 'object') return false
  const candidate = value as Partial<Logger>
  return (
    typeof candidate.log === 'function' &&
    typeof candidate.add === 'function' &&
    typeof candidate.levels === 'object' &&
    candidate.levels !== null &&
    Array.isArray(candidate.transports)
  )
}

/**
 * Checks `logger` at start-up: a winston logger whose levels can carry
 * faultline's error, warn and info, so no report is logged at a level the
 * logger does not know (winston would print a complaint and drop it).
 */
export function checkLogger(value: unknown): AppLogger | undefined {
  if (value === undefined) return undefined
  if (!isWinstonLogger(value)) fail('a winston logger (winston.createLogger(…))', value)
  const known = value.levels as Record<string, number>
  const levels: Record<string, string> = {}
  for (const [level, spellings] of Object.entries(SPELLINGS)) {
    const found = spellings.find((name) => Object.hasOwn(known, name))
    if (!found)
      throw new FaultlineConfigError(
        'logger',
        `faultline: option "logger" must have a level named ${spellings.map((s) => `"${s}"`).join(' or ')} for faultline's ${level} records; its levels are ${Object.keys(known).join(', ')}`,
      )
    levels[level] = found
  }
  return { logger: value, levels }
}
