/**
 * The Lua scripts the Redis store runs. Each one is a single atomic step on
 * the server: a claim, a count with its expiry, a window's take. Keys are
 * built from the prefix (which carries a hash tag, so every key of one app
 * lives in one cluster slot). Every key written gets an expiry in the same
 * script.
 */

/** ARGV: key, windowMs → the window's count after this event. */
export const COUNT_IN_WINDOW = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`

/**
 * A sliding ceiling: KEYS: its sorted set of admitted times. ARGV: now,
 * periodMs, max, a unique member. → { admitted (1|0), freeAt }
 */
export const ADMIT = `
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], period)
  return { 1, ARGV[1] }
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, tostring(tonumber(oldest[2]) + period) }`

/** Gives back one admitted event. KEYS: the ceiling's sorted set. ARGV: the time it was admitted at. */
export const GIVE_BACK = `
local member = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)[1]
if member then redis.call('ZREM', KEYS[1], member) end
return 0`

/**
 * KEYS: window hash, its occurrence list, its URL set.
 * ARGV: now, windowMs, first JSON, occurrence JSON, url ('' for none), max listed, max urls.
 * → { opened (1|0), start }
 */
export const GATHER = `
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local ttl = windowMs * 3
local start = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if start < 0 or (count == 0 and start + windowMs <= now) then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'start', ARGV[1], 'first', ARGV[3], 'count', 0)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return { 1, ARGV[1] }
end
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('LLEN', KEYS[2]) < tonumber(ARGV[6]) then
  redis.call('RPUSH', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
if ARGV[5] ~= '' and redis.call('SCARD', KEYS[3]) < tonumber(ARGV[7]) then
  redis.call('SADD', KEYS[3], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return { 0, tostring(start) }`

/**
 * KEYS: window hash, its occurrence list, its URL set. ARGV: start, now, windowMs.
 * → false, or { first, count, occurrences, urls, since }
 */
export const TAKE = `
local start = redis.call('HGET', KEYS[1], 'start')
if not start or start ~= ARGV[1] then return false end
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return false
end
local first = redis.call('HGET', KEYS[1], 'first')
local occurrences = redis.call('LRANGE', KEYS[2], 0, -1)
local urls = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'start', ARGV[2], 'count', 0)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 3)
return { first, count, occurrences, urls, start }`

/** KEYS: the claim. ARGV: token → 1 when it was ours to give back. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Counts a batch of reports. ARGV: prefix, count, retentionMs, max
 * occurrences, max fingerprints per kind (traceback, error, warning), max
 * incidents per kind (the same order), then 9 values per report:
 * fingerprint, now, kind, title, route, occurrence JSON, incident key,
 * incident JSON, report JSON ('' keeps the previous one).
 *
 * Each kind has its own order of last seen (`last:<kind>`) and of
 * incidents (`incidents:<kind>`): a new fingerprint or incident makes room
 * only among its own kind, so warnings never evict a traceback or an error.
 * `last` and `count` order every kind together, for the list.
 */
export const RECORD = `
local p = ARGV[1]
local retention = tonumber(ARGV[3])
local kinds = { 'traceback', 'error', 'warning' }
local maxFingerprints = { traceback = tonumber(ARGV[5]), error = tonumber(ARGV[6]), warning = tonumber(ARGV[7]) }
local maxIncidents = { traceback = tonumber(ARGV[8]), error = tonumber(ARGV[9]), warning = tonumber(ARGV[10]) }
-- a kind faultline does not make counts as a warning: it cannot take a traceback's room
local function boundKind(kind)
  if kind == 'traceback' or kind == 'error' then return kind end
  return 'warning'
end
local function forget(old, day)
  redis.call('ZREM', p .. 'last', old)
  redis.call('ZREM', p .. 'count', old)
  for _, kind in ipairs(kinds) do redis.call('ZREM', p .. 'last:' .. kind, old) end
  redis.call('DEL', p .. 'fp:' .. old, p .. 'fp:' .. old .. ':o')
  for d = day - 15, day do redis.call('DEL', p .. 'fp:' .. old .. ':h:' .. d) end
end
local function record(E)
  local fp, now = E[1], tonumber(E[2])
  local hour = math.floor(now / 3600000)
  local day = math.floor(hour / 24)
  local k = p .. 'fp:' .. fp
  local fresh = redis.call('HSETNX', k, 'first', E[2]) == 1
  if fresh then
    redis.call('HSET', k, 'kind', E[3], 'title', E[4], 'route', E[5], 'status', 'open')
  elseif redis.call('HGET', k, 'status') == 'resolved' then
    redis.call('HSET', k, 'status', 'regressed')
  end
  -- the bound the issue counts against is its own kind's, as first recorded
  local kind = boundKind(fresh and E[3] or redis.call('HGET', k, 'kind'))
  redis.call('HINCRBY', k, 'count', 1)
  redis.call('HSET', k, 'last', E[2])
  if E[9] ~= '' then redis.call('HSET', k, 'report', E[9]) end
  redis.call('PEXPIRE', k, retention)
  local hk = k .. ':h:' .. day
  redis.call('HINCRBY', hk, hour, 1)
  redis.call('PEXPIRE', hk, retention + 86400000)
  local ok = k .. ':o'
  redis.call('LPUSH', ok, E[6])
  redis.call('LTRIM', ok, 0, tonumber(ARGV[4]) - 1)
  redis.call('PEXPIRE', ok, retention)
  local own = p .. 'last:' .. kind
  redis.call('ZADD', p .. 'last', now, fp)
  redis.call('ZADD', own, now, fp)
  redis.call('ZINCRBY', p .. 'count', 1, fp)
  redis.call('PEXPIRE', p .. 'last', retention)
  redis.call('PEXPIRE', own, retention)
  redis.call('PEXPIRE', p .. 'count', retention)
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', p .. 'last', '-inf', now - retention, 'LIMIT', 0, 20)) do
    forget(old, day)
  end
  if fresh then
    while redis.call('ZCARD', own) > maxFingerprints[kind] do
      local oldest = redis.call('ZRANGE', own, 0, 0)[1]
      if not oldest or oldest == fp then break end
      forget(oldest, day)
    end
  end
  local ik = p .. 'inc:' .. E[7]
  local order = p .. 'incidents:' .. kind
  -- one request can make a report and its repeat's: the lookup finds the first
  if redis.call('SET', ik, E[8], 'PX', retention, 'NX') then
    redis.call('LPUSH', order, E[7])
    redis.call('PEXPIRE', order, retention)
  end
  while redis.call('LLEN', order) > maxIncidents[kind] do
    redis.call('DEL', p .. 'inc:' .. redis.call('RPOP', order))
  end
end
for i = 0, tonumber(ARGV[2]) - 1 do
  local base = 10 + i * 9
  record({ ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4], ARGV[base + 5],
    ARGV[base + 6], ARGV[base + 7], ARGV[base + 8], ARGV[base + 9] })
end
return 1`

/**
 * Lists issues. ARGV: prefix, sort ('last'|'count'), kind, status, route,
 * offset, limit, now, retentionMs → { total, fingerprint, fields…, fingerprint, fields… }
 * where fields are kind, title, route, count, first, last, status,
 * mutedUntil, resolvedAt, ticketId, ticketUrl.
 */
export const LIST_ISSUES = `
local p = ARGV[1]
local kind, status, route = ARGV[3], ARGV[4], ARGV[5]
local offset, limit, now = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local oldest = now - tonumber(ARGV[9])
local unfiltered = kind == '' and status == '' and route == ''
-- the usual list, unfiltered, reads one page, not every issue
local fps = unfiltered and redis.call('ZREVRANGE', p .. ARGV[2], offset, offset + limit - 1)
  or redis.call('ZREVRANGE', p .. ARGV[2], 0, -1)
local out = { 0 }
local total = unfiltered and offset or 0
for _, fp in ipairs(fps) do
  local f = redis.call('HMGET', p .. 'fp:' .. fp, 'kind', 'title', 'route', 'count', 'first', 'last', 'status', 'mutedUntil', 'resolvedAt', 'ticketId', 'ticketUrl')
  if f[1] and tonumber(f[6]) > oldest then
    local muted = f[8] and tonumber(f[8]) > now
    local keep = (kind == '' or f[1] == kind) and (route == '' or f[3] == route)
    if status == 'muted' then keep = keep and muted
    elseif status ~= '' then keep = keep and f[7] == status end
    if keep then
      total = total + 1
      if total > offset and total <= offset + limit then
        table.insert(out, fp)
        for i = 1, 11 do table.insert(out, f[i] or '') end
      end
    end
  else
    redis.call('ZREM', p .. 'last', fp)
    redis.call('ZREM', p .. 'count', fp)
    for _, k in ipairs({ 'traceback', 'error', 'warning' }) do redis.call('ZREM', p .. 'last:' .. k, fp) end
  end
end
out[1] = unfiltered and redis.call('ZCARD', p .. ARGV[2]) or total
return out`

/**
 * Hourly counts. ARGV: prefix, first hour, hours, fingerprint… → for each
 * fingerprint, `hours` counts, oldest first.
 */
export const HOURLY = `
local p, from, hours = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local base = p .. 'fp:' .. ARGV[i] .. ':h:'
  local counts = {}
  for h = 1, hours do counts[h] = 0 end
  for day = math.floor(from / 24), math.floor((from + hours - 1) / 24) do
    local kv = redis.call('HGETALL', base .. day)
    for j = 1, #kv, 2 do
      local index = tonumber(kv[j]) - from + 1
      if index >= 1 and index <= hours then counts[index] = tonumber(kv[j + 1]) end
    end
  end
  for h = 1, hours do table.insert(out, counts[h]) end
end
return out`

/** KEYS: fingerprint hash. ARGV: field, value, … → 1 when the issue exists. */
export const UPDATE_ISSUE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1`
