import type {
  Admission,
  FleetCoordination,
  Gathered,
  GatherResult,
  StoredOccurrence,
} from './types.js'

/** An answer given at once (this process's own state) or later (a shared store). */
export type Answer<T> = T | Promise<T>

/**
 * The fleet's coordination as the alerting transports call it: each answer
 * at once when the state is this process's own, a promise when it is shared.
 * One copy of each throttle rule runs over both.
 */
export interface CoordinationAnswers {
  countInWindow(key: string, windowMs: number): Answer<number>
  admit(key: string, max: number, periodMs: number): Answer<Admission>
  giveBack(key: string, at: number): Answer<void>
  /** `first` is made only when it is needed: a shared store needs it on every call, a local one on opening. */
  gather(
    scope: string,
    fingerprint: string,
    first: () => string,
    occurrence: StoredOccurrence,
    windowMs: number,
  ): Answer<GatherResult>
  take(
    scope: string,
    fingerprint: string,
    start: number,
    windowMs: number,
  ): Answer<Gathered | undefined>
  claim(key: string, ttlMs: number): Answer<string | undefined>
  release(key: string, token: string): Answer<void>
}

/** Whether an answer is still to come. */
export function isPromise<T>(answer: Answer<T>): answer is Promise<T> {
  return typeof (answer as { then?: unknown } | undefined)?.then === 'function'
}

/**
 * Goes on with an answer: in the same turn when it is there already, once it
 * settles when it is a promise. `failed` answers in place of a store that threw.
 */
export function settle<T, R>(
  answer: Answer<T>,
  next: (value: T) => Answer<R>,
  failed: (err: unknown) => Answer<R>,
): Answer<R> {
  return isPromise(answer) ? answer.then(next, failed) : next(answer)
}

/** Starts `answer` off the request path: a promise is handed to `track`, a value needs nothing. */
export function detach(answer: Answer<unknown>, track: (work: Promise<unknown>) => void): void {
  if (isPromise(answer)) track(answer)
}

/** The answers of a coordination: at once for this process's own (`instant`), promised for a shared one. */
export function answersOf(
  coordination: FleetCoordination & { instant?: CoordinationAnswers },
): CoordinationAnswers {
  if (coordination.instant) return coordination.instant
  return {
    countInWindow: (key, windowMs) => coordination.countInWindow(key, windowMs),
    admit: (key, max, periodMs) => coordination.admit(key, max, periodMs),
    giveBack: (key, at) => coordination.giveBack(key, at),
    gather: (scope, fingerprint, first, occurrence, windowMs) =>
      coordination.gather(scope, fingerprint, first(), occurrence, windowMs),
    take: (scope, fingerprint, start, windowMs) =>
      coordination.take(scope, fingerprint, start, windowMs),
    claim: (key, ttlMs) => coordination.claim(key, ttlMs),
    release: (key, token) => coordination.release(key, token),
  }
}
