/**
 * The bounds shared by the scrubber's walks (scrub.ts) and the memory of the
 * secrets they hide (remembered-secrets.ts): one place, so that what a walk
 * shows and what is remembered of it cannot drift apart.
 */
export const MAX_DEPTH = 6
export const MAX_KEYS = 100
export const MAX_VALUE = 2000
