// Part of the composition root with lib/faultline.ts, lib/logger.ts and lib/index.ts: it builds
// the parts a Faultline holds from the options, in the order each one needs the ones before it,
// installs the process guards last, and wires the incident view to the request lifecycle. It lives apart from lib/faultline.ts so that the class
// there is the public surface alone (its methods and their documentation), and so that what is
// made at start-up, and in which order, reads in one place.
import { hostname } from 'node:os'
import type { Router } from 'express'
import type { Logger } from 'winston'
import { createReportLogger, type FaultlineOptions } from './logger.js'
import type { ResolvedOptions } from './config/options.js'
import type { Report } from './report/report.js'
import { shouldAnnounce, startupLine } from './config/startup-line.js'
import { RequestLifecycle } from './middleware/lifecycle.js'
import { resolveOptions } from './config/resolve-options.js'
import { OutcomeReporter } from './report/outcome-reporter.js'
import { ReportDispatcher } from './report/dispatcher.js'
import {
  installProcessGuards,
  type GuardedInstance,
  type ProcessGuards,
} from './middleware/process-guard.js'
import { compileScrubber } from './scrub/scrub.js'
import { openStore } from './store/open-store.js'
import { countReport, linkTickets } from './store/wiring.js'
import type { Store } from './store/types.js'
import { createDashboard, type DashboardOptions } from './dashboard/index.js'
import { getState } from './middleware/request-state.js'
import { blameEnvironment } from './config/environment.js'
import { announcement, warnDebugInProduction } from './config/startup-notices.js'

/** What the instance does for the parts: hear each report, close and reopen on a signal. */
export interface InstanceHooks extends Pick<GuardedInstance, 'close' | 'reopen'> {
  emit: (report: Report) => void
}

/** The parts of one Faultline instance. */
export interface Parts {
  options: ResolvedOptions
  /** The app's own logger when given, else `destinations`. */
  logger: Logger
  // faultline's destinations (stderr, file, mail, syslog, tickets, `transports`): what stats() counts and close() closes
  destinations: Logger
  store: Store
  dispatcher: ReportDispatcher
  reporter: OutcomeReporter
  lifecycle: RequestLifecycle
  guards: ProcessGuards
}

/** Checks the options and builds every part from them; a bad option throws before anything listens. */
export function assembleParts(given: FaultlineOptions | undefined, hooks: InstanceHooks): Parts {
  const options = resolveOptions(given, process.env)
  const context = {
    app: options.appName,
    host: hostname(),
    pid: process.pid,
    appRoot: options.appRoot,
    scrubber: compileScrubber(options.scrub),
  }
  const say = options.notices
  const store = openStore(options.store, options.appName, say)
  // only a shared store has a fleet to coordinate: alone, the transports keep their own throttles
  const coordination = options.store.kind === 'local' ? undefined : store
  let destinations: Logger
  try {
    destinations = createReportLogger(options, {
      coordination,
      muted: (fingerprint) => store.isMuted(fingerprint),
      say,
    })
  } catch (err) {
    void store.close()
    // a destination the environment set is fixed there, not in the code
    throw blameEnvironment(err, options.sources)
  }
  const logger = options.logger?.logger ?? destinations
  linkTickets(store, destinations.transports)
  const dispatcher = new ReportDispatcher(
    destinations,
    (report) => {
      countReport(store, report, say)
      hooks.emit(report)
    },
    options.logger,
    say,
  )
  const reporter = new OutcomeReporter({
    context,
    warningLimit: options.warningLimit,
    dispatcher,
    say,
    ...(coordination ? { coordination } : {}),
  })
  const lifecycle = new RequestLifecycle({
    context,
    reporter,
    logger,
    debug: options.debug,
    throwErrors: options.throwErrors,
    say,
  })
  if (options.debug && options.nodeEnv === 'production') warnDebugInProduction(say)
  if (shouldAnnounce(options)) say(announcement(startupLine(options, destinations)))
  // debug mode and throw-errors leave crashes to Node, the test runner and the debugger
  const stepAside = options.debug || options.throwErrors
  const guards = installProcessGuards(
    {
      crash: (error, origin) => dispatcher.crash(reporter.crashReport(error, origin)),
      close: (closeOptions) => hooks.close(closeOptions),
      reopen: () => hooks.reopen(),
    },
    {
      errors: options.handleProcessErrors && !stepAside,
      signals: options.handleSignals,
      closeTimeoutMs: 5000,
    },
  )
  return { options, logger, destinations, store, dispatcher, reporter, lifecycle, guards }
}

/** The incident view, its requests quiet and its refusals and failures reported by the lifecycle. */
export function openDashboard(
  store: Store,
  lifecycle: RequestLifecycle,
  options: DashboardOptions,
  resolved: ResolvedOptions,
): Router {
  return createDashboard(store, options, {
    quiet: (req) => void (getState(req).quiet = true),
    appRoot: resolved.appRoot,
    // someone guessing the view's way in leaves warnings, under the warning limit like any probe
    refuse: (req, res, reason) => {
      const state = getState(req)
      state.quiet = false
      state.suspicion = { reason, category: 'incident-view' }
      lifecycle.watch(res)
    },
    fail: (req, res, error) => {
      getState(req).quiet = false
      lifecycle.record(req, res, error)
    },
    say: resolved.notices,
  })
}
