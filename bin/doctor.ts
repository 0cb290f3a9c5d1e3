/**
 * `faultline doctor`: what the app would do with its options and this
 * environment, read through the same functions `createFaultline` uses,
 * without opening a connection or writing a report.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { offDestinations, isForced } from '../lib/config/destinations.js'
import { hideCredentials } from '../lib/config/option-checks.js'
import { FaultlineConfigError } from '../lib/config/config-error.js'
import type { ResolvedOptions } from '../lib/config/options.js'
import type { FaultlineOptions } from '../lib/logger.js'
import { resolveOptions } from '../lib/config/resolve-options.js'
import { blameEnvironment } from '../lib/config/environment.js'
import { resolveMailOptions } from '../transports/mail/options.js'
import { resolveSyslogOptions } from '../transports/syslog/options.js'
import { resolveTicketOptions } from '../transports/ticket/options.js'

export const DOCTOR_USAGE = 'usage: faultline doctor [--module PATH [--export NAME]]'

/** The options a module exports: `NAME`, else `faultlineOptions`, else its default export. */
async function loadOptions(path: string, name: string | undefined): Promise<FaultlineOptions> {
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>
  const options = name ? loaded[name] : (loaded.faultlineOptions ?? loaded.default)
  if (options === null || typeof options !== 'object')
    throw new FaultlineConfigError(
      'module',
      `faultline doctor: ${path} exports no options object${name ? ` named ${name}` : ' (faultlineOptions or default)'}`,
    )
  return options as FaultlineOptions
}

function settingOf(setting: string | Record<string, unknown>): Record<string, unknown> {
  return typeof setting === 'string' ? { url: setting } : setting
}

/** Where each alerting destination goes, checked as the transports check it; no password in any. */
function targetOf(name: 'mail' | 'syslog' | 'tickets', options: ResolvedOptions): string {
  const setting = settingOf(options[name]!)
  if (name === 'mail') {
    const mail = resolveMailOptions(setting, options)
    return `${mail.target.replace(/^outbox /, 'outbox ')} to ${mail.to.join(', ')}`
  }
  if (name === 'syslog') return resolveSyslogOptions(setting, options).target
  const adapter = resolveTicketOptions(setting).adapter as { name: string; dir?: unknown }
  return `${adapter.name}${typeof adapter.dir === 'string' ? ` ${adapter.dir}` : ''}`
}

function describeOptions(options: ResolvedOptions): string[] {
  const from = (option: string) =>
    options.sources[option] ? ` (from ${options.sources[option]})` : ''
  const off = new Map(offDestinations(options).map((d) => [d.name, d.reason]))
  const lines = [
    `app: ${options.appName}${from('appName')}`,
    `NODE_ENV: ${options.nodeEnv ?? '(unset: production)'}`,
    `debug mode: ${options.debug ? 'on' : 'off'} (${options.debugCause})`,
    `stderr: ${options.stderr ? `on, level ${options.stderr.level}` : 'off'}${from('stderr')}`,
    `file: ${options.file ? `on, ${options.file.filename} (level ${options.file.level})` : 'off: not configured (file or FAULTLINE_FILE)'}${from('file')}`,
  ]
  for (const name of ['mail', 'syslog', 'tickets'] as const) {
    if (options[name] === undefined) {
      lines.push(`${name}: off: not configured (${name} or FAULTLINE_${name.toUpperCase()})`)
      continue
    }
    const where = targetOf(name, options)
    const reason = off.get(name)
    const forced = isForced(options[name]) && options.debug ? ', forced in debug mode' : ''
    lines.push(
      reason
        ? `${name}: off: ${reason} (would go to ${where})${from(name)}`
        : `${name}: on, ${where}${forced}${from(name)}`,
    )
  }
  const store = options.store
  lines.push(
    `store: ${store.kind === 'url' ? `${store.target} (shared with the fleet)` : store.kind === 'client' ? "the app's Redis client" : 'local (this process alone)'}${from('store')}`,
    `spool: ${options.spoolDir || 'off (memory only)'}`,
  )
  return lines.map((line) => hideCredentials(line))
}

/**
 * Runs `faultline doctor`: prints what the app would do and returns 0, or
 * the start-up error naming the field (or variable) and returns 1.
 *
 * @example
 * ```ts
 * process.exitCode = await doctor(['--module', 'config/faultline.js'])
 * ```
 */
export async function doctor(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { module: { type: 'string' }, export: { type: 'string' } },
  })
  try {
    const code = values.module ? await loadOptions(values.module, values.export) : {}
    const options = resolveOptions(code, process.env)
    let lines: string[]
    try {
      lines = describeOptions(options)
    } catch (err) {
      throw blameEnvironment(err, options.sources)
    }
    process.stdout.write(`faultline doctor\n${lines.map((l) => `  ${l}`).join('\n')}\n`)
    return 0
  } catch (err) {
    if (!(err instanceof FaultlineConfigError)) throw err
    process.stderr.write(
      `${hideCredentials(err.message)}\nfaultline doctor: invalid configuration (${err.field})\n`,
    )
    return 1
  }
}
