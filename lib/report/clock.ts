/**
 * Report times as ISO strings, cheaply: a storm stamps thousands of reports a
 * second, and `Date#toISOString` was the largest single cost of a repeat's
 * report. Everything but the milliseconds is formatted once per second.
 */

let second = Number.NaN
// the ISO text of the current second up to its milliseconds: `2026-11-24T03:54:23.`
let prefix = ''

function enterSecond(ms: number): void {
  second = Math.floor(ms / 1000)
  // everything before `mmmZ`, which keeps years past 9999 and before 0 right as well
  prefix = new Date(second * 1000).toISOString().slice(0, -4)
}

/** `new Date(ms).toISOString()`, the current time by default. */
export function isoTime(ms: number = Date.now()): string {
  if (!Number.isFinite(ms)) return new Date(ms).toISOString()
  // a Date drops fractions toward zero, before the epoch as well
  ms = Math.trunc(ms)
  if (Math.floor(ms / 1000) !== second) enterSecond(ms)
  const milli = Math.floor(ms - second * 1000)
  return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
}
