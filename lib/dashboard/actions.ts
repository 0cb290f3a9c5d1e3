import type { IncidentStore } from '../store/types.js'

const HOUR = 3_600_000

type Action = (store: IncidentStore, fingerprint: string) => Promise<void>

const muteFor =
  (ms: number): Action =>
  (store, fingerprint) =>
    store.mute(fingerprint, Date.now() + ms)

// a closed set in a Map: a form's `action` is looked up as a key, never along Object.prototype
const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  ['resolve', (store, fingerprint) => store.resolve(fingerprint)],
  ['unmute', (store, fingerprint) => store.mute(fingerprint, 0)],
  ['mute-hour', muteFor(HOUR)],
  ['mute-day', muteFor(24 * HOUR)],
  ['mute-week', muteFor(7 * 24 * HOUR)],
])

/** The view's action a form names, or `undefined` for anything the view's own pages never send. */
export function findAction(name: unknown): Action | undefined {
  return typeof name === 'string' ? ACTIONS.get(name) : undefined
}
