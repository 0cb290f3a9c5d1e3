import { createRequire } from 'node:module'
import { dirname, sep } from 'node:path'
import type express from 'express'

/** A second copy of an Express package, as a sub-app bundled with its own node_modules brings: its own Layer class. */
export function loadSecondCopy(name: string): typeof express {
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve(`${name}/package.json`)) + sep
  const own = Object.keys(require.cache).filter((file) => file.startsWith(dir))
  const saved = own.map((file) => [file, require.cache[file]] as const)
  for (const file of own) delete require.cache[file]
  try {
    return require(name) as typeof express
  } finally {
    for (const [file, module] of saved) require.cache[file] = module
  }
}

/**
 * Runs `body` with a listener of the app's own in place of every `unhandledRejection` listener but
 * faultline's (mocha's among them), and returns what reached it.
 */
export async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const rejections: unknown[] = []
  const keep = (reason: unknown) => rejections.push(reason)
  const others = process
    .listeners('unhandledRejection')
    .filter((listener) => listener.name !== 'faultlineOnRejection')
  for (const listener of others) process.off('unhandledRejection', listener)
  process.on('unhandledRejection', keep)
  try {
    await body()
  } finally {
    process.off('unhandledRejection', keep)
    for (const listener of others) process.on('unhandledRejection', listener)
  }
  return rejections
}

/** The Layer class of an Express copy, through a router of its own (Express 4's and the `router` package's alike). */
export function layerPrototypeOf(makeApp: typeof express): Record<string, unknown> {
  const router = makeApp.Router()
  router.use(() => undefined)
  return Object.getPrototypeOf((router as unknown as { stack: object[] }).stack[0]) as Record<
    string,
    unknown
  >
}

/**
 * express-async-errors in ten lines: every layer's handle is wrapped when it is set, and the wrapper
 * hands a returned promise's rejection to the `next` it was given, returning the promise as it was.
 * Returns what undoes it.
 */
export function patchLikeExpressAsyncErrors(makeApp: typeof express): () => void {
  const proto = layerPrototypeOf(makeApp)
  const held = Symbol('handle')
  Object.defineProperty(proto, 'handle', {
    configurable: true,
    get(this: Record<symbol, unknown>) {
      return this[held]
    },
    set(this: Record<symbol, unknown>, fn: (...args: unknown[]) => unknown) {
      const wrapped = function (this: unknown, ...args: unknown[]): unknown {
        const ret = fn.apply(this, args)
        const next = (args.length === 5 ? args[2] : args.at(-1)) as (err: unknown) => void
        if (ret && typeof (ret as Promise<unknown>).catch === 'function')
          (ret as Promise<unknown>).catch((err: unknown) => next(err))
        return ret
      }
      Object.defineProperty(wrapped, 'length', { value: fn.length })
      this[held] = wrapped
    },
  })
  return () => void delete proto.handle
}
