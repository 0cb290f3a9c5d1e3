/**
 * The contenders the runner knows: which server file, which extra node
 * flags and environment. Each is started in its own process.
 */
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface ContenderSpec {
  name: string
  /** The server script, absolute. */
  script: string
  /** Extra node flags (after `--import tsx`). */
  nodeArgs: string[]
  env: Record<string, string>
  /** A bare variant: the limit on a route is the faster of these. */
  bare: boolean
  /** A peer faultline must stay ahead of. */
  peer: boolean
  /** faultline itself: runs the built package the runner names in BENCH_FAULTLINE. */
  faultline?: boolean
  /** Sends syslog over UDP: the runner starts a listener and names its port in BENCH_SYSLOG_PORT. */
  syslogListener?: boolean
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const sentryInit = pathToFileURL(here('../contenders/sentry-init.ts')).href

export const CONTENDERS: ContenderSpec[] = [
  {
    name: 'bare',
    script: here('../contenders/bare.ts'),
    nodeArgs: [],
    env: {},
    bare: true,
    peer: false,
  },
  {
    name: 'bare-noop',
    script: here('../contenders/bare-noop.ts'),
    nodeArgs: [],
    env: {},
    bare: true,
    peer: false,
  },
  {
    name: 'faultline',
    script: here('../contenders/faultline.ts'),
    nodeArgs: [],
    env: {},
    bare: false,
    peer: false,
    faultline: true,
  },
  {
    name: 'faultline-all',
    script: here('../contenders/faultline-all.ts'),
    nodeArgs: [],
    env: {},
    bare: false,
    peer: false,
    faultline: true,
    syslogListener: true,
  },
  {
    name: 'express-winston',
    script: here('../contenders/express-winston.ts'),
    nodeArgs: [],
    env: {},
    bare: false,
    peer: true,
  },
  {
    name: 'pino-http',
    script: here('../contenders/pino-http.ts'),
    nodeArgs: [],
    env: {},
    bare: false,
    peer: true,
  },
  // not a product: the least a reporter recording every occurrence can do, the floor under faultline's figures
  {
    name: 'floor',
    script: here('../contenders/floor.ts'),
    nodeArgs: [],
    env: {},
    bare: false,
    peer: false,
  },
  // Sentry's docs: the instrument file is loaded with --import, before the app
  {
    name: 'sentry',
    script: here('../contenders/sentry.ts'),
    nodeArgs: ['--import', sentryInit],
    env: {},
    bare: false,
    peer: true,
  },
  // not in the default set: Sentry as installed, whose Dedupe records a handful of events for a storm of one error
  {
    name: 'sentry-dedupe',
    script: here('../contenders/sentry.ts'),
    nodeArgs: ['--import', sentryInit],
    env: { BENCH_SENTRY_DEDUPE: '1' },
    bare: false,
    peer: true,
  },
  // not in the default set: faultline as another build (BENCH_FAULTLINE_BASE names its dist/lib/index.js), to compare two commits in one run
  {
    name: 'faultline-base',
    script: here('../contenders/faultline.ts'),
    nodeArgs: [],
    env: process.env.BENCH_FAULTLINE_BASE
      ? { BENCH_FAULTLINE: process.env.BENCH_FAULTLINE_BASE }
      : {},
    bare: false,
    peer: false,
  },
]

export const DEFAULT_CONTENDERS = [
  'bare',
  'bare-noop',
  'faultline',
  'faultline-all',
  'floor',
  'express-winston',
  'pino-http',
  'sentry',
]

export function findContender(name: string): ContenderSpec {
  const spec = CONTENDERS.find((c) => c.name === name)
  if (!spec)
    throw new Error(
      `unknown contender ${JSON.stringify(name)}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`,
    )
  return spec
}
