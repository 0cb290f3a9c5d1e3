/**
 * The major version of the Express this run tests (FAULTLINE_TEST_EXPRESS=4 maps `express` to Express 4, see
 * express-version.mjs), for the few tests whose app must be written differently on each.
 */
export const EXPRESS_MAJOR: 4 | 5 = process.env.FAULTLINE_TEST_EXPRESS === '4' ? 4 : 5

/** A route pattern for "this prefix, then anything": Express 5 names the wildcard, Express 4 has a bare `*`. */
export function anyPath(prefix = ''): string {
  return EXPRESS_MAJOR === 4 ? `${prefix}/*` : `${prefix}/*splat`
}

/**
 * Runs `body` with only faultline listening for unhandled rejections. On Express 4 a handler's rejection
 * reaches every `unhandledRejection` listener, mocha's too, and mocha's reads `reason.code`: on a value whose
 * getters throw, that read throws and mocha fails the test for its own listener's error. An app's own
 * listener sees these rejections the same way (see the README).
 */
export async function withOnlyFaultlineListening<T>(body: () => Promise<T>): Promise<T> {
  const others = process
    .listeners('unhandledRejection')
    .filter((listener) => listener.name !== 'faultlineOnRejection')
  for (const listener of others) process.off('unhandledRejection', listener)
  try {
    return await body()
  } finally {
    for (const listener of others) process.on('unhandledRejection', listener)
  }
}
