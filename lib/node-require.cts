// CommonJS in both builds: `require` is what locates the optional peers (redis, @opentelemetry/api) from
// faultline's own directory, with no `import.meta.url` (ESM only) nor `__filename` (CommonJS only) in the source
/** Node's require, relative to faultline's own files. */
export const nodeRequire: NodeJS.Require = require
