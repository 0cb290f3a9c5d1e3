// The resolve hook behind express-version.mjs: under FAULTLINE_TEST_EXPRESS=4 the specifier `express` is
// answered with Express 4, installed as the dev dependency alias `express4`. Subpaths (`express/lib/…`) follow.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'express' || specifier.startsWith('express/')) {
    return nextResolve(`express4${specifier.slice('express'.length)}`, context)
  }
  return nextResolve(specifier, context)
}
