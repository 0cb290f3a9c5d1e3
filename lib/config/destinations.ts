import type { ResolvedOptions, TransportSetting } from './options.js'

/** The destinations debug mode leaves off unless forced. */
export const ALERTING = ['mail', 'syslog', 'tickets'] as const

/** Whether a destination's setting says `force: true`. */
export function isForced(setting: TransportSetting | undefined): boolean {
  return typeof setting === 'object' && setting.force === true
}

/**
 * The alerting destinations that are configured but off, each with why and
 * how to turn it on; an operator reads this instead of guessing why no mail came.
 *
 * @example
 * ```ts
 * offDestinations(options) // [{ name: 'mail', reason: 'NODE_ENV=development (debug mode); set force: true or FAULTLINE_FORCE=1 to send' }]
 * ```
 */
export function offDestinations(options: ResolvedOptions): Array<{ name: string; reason: string }> {
  if (!options.debug) return []
  return ALERTING.filter((name) => options[name] !== undefined && !isForced(options[name])).map(
    (name) => ({
      name,
      reason: `${options.debugCause} (debug mode); set force: true or FAULTLINE_FORCE=1 to send`,
    }),
  )
}
