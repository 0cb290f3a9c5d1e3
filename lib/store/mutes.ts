/** Whether a mute map says the fingerprint is muted now; an expired mute is forgotten. */
export function isMutedIn(muted: Map<string, number>, fingerprint: string): boolean {
  if (muted.size === 0) return false
  const until = muted.get(fingerprint)
  if (until === undefined) return false
  if (until > Date.now()) return true
  muted.delete(fingerprint)
  return false
}
