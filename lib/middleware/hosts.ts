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
  return (hostHeader) => {
    const host = parseHost(hostHeader)
    if (host === undefined) return false
    if (any || exact.has(host)) return true
    return suffixes.some((suffix) => host.endsWith(suffix) || host === suffix.slice(1))
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
