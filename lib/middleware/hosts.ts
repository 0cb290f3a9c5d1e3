/** How many allowed Host values a check remembers verbatim. */
const MAX_REMEMBERED_HOSTS = 64

/**
 * Compiles `allowedHosts` once: `example.org` matches that host only,
 * `.example.org` the domain and every subdomain, `*` anything. Ports are
 * ignored; a Host header that is not a well-formed host never matches.
 */
export function compileHostCheck(
  allowed: readonly string[],
): (hostHeader: string | undefined) => boolean {
  const exact = new Set<string>()
  const suffixes: string[] = []
  let any = false
  for (const entry of allowed) {
    const host = entry.toLowerCase().replace(/\.$/, '')
    if (host === '*') any = true
    else if (host.startsWith('.')) suffixes.push(host)
    else exact.add(host)
  }
  const judge = (hostHeader: string | undefined): boolean => {
    const host = parseHost(hostHeader)
    if (host === undefined) return false
    if (any || exact.has(host)) return true
    return suffixes.some((suffix) => host.endsWith(suffix) || host === suffix.slice(1))
  }
  // every request asks with one of a handful of Host values: an allowed one is remembered as sent,
  // so the happy path skips the parse; refused ones are never kept, and the set stays small
  const allowedSeen = new Set<string>()
  return (hostHeader) => {
    if (hostHeader !== undefined && allowedSeen.has(hostHeader)) return true
    const allowed = judge(hostHeader)
    if (allowed && hostHeader !== undefined && allowedSeen.size < MAX_REMEMBERED_HOSTS)
      allowedSeen.add(hostHeader)
    return allowed
  }
}

/** The host part of a Host header, lower-cased, without port or trailing dot; undefined when malformed. */
export function parseHost(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  const value = hostHeader.toLowerCase()
  const match =
    /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?)(?::\d{1,5})?$/.exec(
      value,
    )
  return match ? match[1]!.replace(/\.$/, '') : undefined
}
