// Loaded with `--import` (by .mocharc.json and by every child a test spawns): FAULTLINE_TEST_EXPRESS=4 runs
// the tests, the demo and the fixtures against Express 4 (the dev dependency alias `express4`), with no change
// to their imports. Any other value, or none, leaves `express` as installed (Express 5).
import Module, { register } from 'node:module'

function toExpress4(specifier) {
  return specifier === 'express' || specifier.startsWith('express/')
    ? `express4${specifier.slice('express'.length)}`
    : specifier
}

if (process.env.FAULTLINE_TEST_EXPRESS === '4') {
  // ESM imports go through the resolve hook
  register('./express-resolve.mjs', import.meta.url)
  // mocha loads test files with require() where it can (tsx compiles them to CommonJS), and Node 20's
  // module hooks do not see require(): the CommonJS resolver gets the same mapping
  const resolveFilename = Module._resolveFilename
  Module._resolveFilename = function resolveExpress(request, ...rest) {
    return resolveFilename.call(this, toExpress4(request), ...rest)
  }
}
