/**
 * The Redis function library behind the Redis engine. Every state change of a
 * channel is ONE function call, so it is atomic on the server (no client-side
 * read-modify-write, nothing half-done when a node dies mid-publish).
 *
 * The library name carries a version: nodes of two socketeer releases can run
 * side by side during a rolling upgrade, each calling its own functions. The
 * engine loads it with FUNCTION LOAD REPLACE at start and on every reconnect,
 * and again when a call fails with "Function not found" (Redis restarted with
 * its memory gone: functions are gone too).
 *
 * Keys of one channel share the hash tag `{channel}` (see keys.ts), so every
 * call touches one hash slot and works on Redis Cluster.
 *
 * Epoch design — when may a channel's history have been lost, and how do we see it?
 *  1. The meta hash is gone (Redis restarted without persistence, the channel
 *     expired, eviction): a new random epoch, offsets restart at 1, and any
 *     stream left over is deleted (its ids would collide with the new offsets).
 *  2. A replica was promoted (failover) and may have missed the old master's
 *     last writes. The replica's data is a consistent PREFIX of the master's
 *     (function effects replicate as one MULTI/EXEC), so comparing the meta
 *     top offset with the stream's last id or a write counter cannot see the lost
 *     tail: all three agree on the replica. What does change is the server's
 *     replication id: a promoted replica (REPLICAOF NO ONE, CLUSTER FAILOVER,
 *     Sentinel) starts a new replication history with a new `master_replid`,
 *     and so does a restart. Each meta hash records the replication id it was
 *     written under (field r); a call that finds a different id rotates the
 *     epoch before doing anything else. So no offset is ever issued twice under
 *     one epoch, even if the old master had already handed out offsets the new
 *     one never received. Cost: after every failover (and slot migration) each
 *     channel's epoch rotates once, and recovering clients are told
 *     recovered: false — conservative, never silent.
 *  3. The stream key vanished while the meta still says history was kept
 *     (e.g. an eviction policy chose it): rotate, because offsets remain but
 *     the publications behind them are gone.
 *
 * Stream entry ids are `<offset>-0`, so ranges by offset are plain XRANGE
 * calls. Entry fields, in this order: t (server ms), i (publisher info JSON or
 * ''), d (data JSON).
 *
 * Pub/sub messages (one channel per socketeer channel, same hash tag), newline-
 * separated (JSON text never contains a raw newline):
 *   p\n<epoch>\n<offset>\n<ts>\n<info JSON or ''>\n<data JSON>
 *   j\n<client info JSON>       l\n<client info JSON>
 */

export const LIBRARY_VERSION = 3;
export const LIBRARY_NAME = `socketeer_v${LIBRARY_VERSION}`;

export const Fn = {
  publish: `${LIBRARY_NAME}_publish`,
  history: `${LIBRARY_NAME}_history`,
  presenceAdd: `${LIBRARY_NAME}_presence_add`,
  presenceRemove: `${LIBRARY_NAME}_presence_remove`,
  presenceGet: `${LIBRARY_NAME}_presence_get`,
  presenceStats: `${LIBRARY_NAME}_presence_stats`,
  presenceSweep: `${LIBRARY_NAME}_presence_sweep`,
} as const;

/** Lifetime of a meta hash created by a read (history of a channel never published to). */
const READ_META_TTL_MS = 24 * 3600 * 1000;
/** How many expired presence entries one call removes (bounded work per call). */
const SWEEP_BATCH = 100;

export const LIBRARY_CODE = `#!lua name=${LIBRARY_NAME}

local function fmt(n) return string.format('%d', n) end

local function replid()
  local info = redis.call('INFO', 'replication')
  return string.match(info, 'master_replid:(%w+)') or ''
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The channel's current epoch and top offset; creates or rotates the epoch
-- (candidate = a fresh random id from the caller) as the header comment explains.
local function current_epoch(meta, stream, candidate, from_read)
  local m = redis.call('HMGET', meta, 'e', 'o', 'r', 'h')
  local rid = replid()
  if not m[1] then
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'e', candidate, 'o', 0, 'r', rid, 'h', '0')
    if from_read then redis.call('PEXPIRE', meta, ${READ_META_TTL_MS}) end
    return candidate, 0
  end
  local top = tonumber(m[2]) or 0
  if m[3] ~= rid or (m[4] == '1' and top > 0 and redis.call('EXISTS', stream) == 0) then
    redis.call('HSET', meta, 'e', candidate, 'r', rid, 'h', '0')
    return candidate, top
  end
  return m[1], top
end

-- Drop entries older than ttl: O(1) when the oldest is still young. Returns the
-- timestamp of the oldest entry kept (now when none is left), or nil when ttl is
-- off or the work bound was reached first.
local function trim_expired(stream, ttl, now)
  if ttl <= 0 then return nil end
  local cutoff = now - ttl
  for _ = 1, 20 do
    local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
    if #first == 0 then return now end
    local oldest = tonumber(first[1][2][2])
    if oldest >= cutoff then return oldest end
    local batch = redis.call('XRANGE', stream, '-', '+', 'COUNT', 128)
    for i = 1, #batch do
      local ts = tonumber(batch[i][2][2])
      if ts >= cutoff then
        redis.call('XTRIM', stream, 'MINID', batch[i][1])
        return ts
      end
    end
    local last = tonumber(string.match(batch[#batch][1], '^(%d+)'))
    redis.call('XTRIM', stream, 'MINID', fmt(last + 1) .. '-0')
  end
  return nil
end

-- One publication: meta, stream, idempotency key (= meta when none) and its eight
-- arguments from a[at + 1]: candidate epoch, data JSON, info JSON or '', history
-- size, ttl ms, idempotency ttl ms (0 = no key), pub/sub channel, '1' = SPUBLISH.
-- The epoch rules of current_epoch, inlined so that a publish costs as few calls as
-- possible: the stream's existence (case 3) is seen from XADD NOMKSTREAM instead of
-- an EXISTS, and meta field f (a lower bound of the oldest entry's timestamp) spares
-- the trim's XRANGE until the oldest entry may have expired. Meta fields that did not
-- change are not written again, and the expiry is not set on every publish: both keys
-- get ttl + ttl/8 when the meta has less than ttl left (PTTL, one cheap read instead of
-- two PEXPIREs), so they always outlive the newest publication by ttl.
local function publish_one(meta, stream, idem, a, at, rid, now)
  local candidate, data, info = a[at + 1], a[at + 2], a[at + 3]
  local idem_ttl = tonumber(a[at + 6])
  if idem_ttl > 0 then
    local prev = redis.call('GET', idem)
    if prev then
      local e, o = string.match(prev, '^(.*):(%d+)$')
      return e, tonumber(o), 1
    end
  end
  local size, ttl = tonumber(a[at + 4]), tonumber(a[at + 5])
  local m = redis.call('HMGET', meta, 'e', 'o', 'r', 'h', 'f', 't')
  local epoch, top, oldest = m[1], tonumber(m[2]) or 0, tonumber(m[5])
  local rotate, created = false, false
  if not epoch then
    -- Case 1: no meta. A new epoch from offset 1; a stream left over would collide.
    redis.call('DEL', stream)
    epoch, top, oldest, rotate = candidate, 0, nil, true
  elseif m[3] ~= rid then
    epoch, rotate = candidate, true -- case 2: another replication history
  end
  local offset = fmt(top + 1)
  local ts = fmt(now)
  if size > 0 then
    local id = offset .. '-0'
    if not redis.call('XADD', stream, 'NOMKSTREAM', 'MAXLEN', size, id, 't', ts, 'i', info, 'd', data) then
      -- Case 3: no stream although history was kept: its publications are gone.
      if m[4] == '1' and top > 0 then epoch, rotate = candidate, true end
      redis.call('XADD', stream, 'MAXLEN', size, id, 't', ts, 'i', info, 'd', data)
      oldest, created = now, true
    end
    if ttl > 0 and not (oldest and oldest >= now - ttl) then oldest = trim_expired(stream, ttl, now) end
  elseif m[4] ~= '0' then
    redis.call('DEL', stream)
  end
  local fields = {'o', offset}
  if rotate then
    fields[3], fields[4], fields[5], fields[6] = 'e', epoch, 'r', rid
  end
  local kept, ttls, first = size > 0 and '1' or '0', fmt(ttl), fmt(oldest or 0)
  if m[4] ~= kept then fields[#fields + 1], fields[#fields + 2] = 'h', kept end
  if m[6] ~= ttls then fields[#fields + 1], fields[#fields + 2] = 't', ttls end
  if m[5] ~= first then fields[#fields + 1], fields[#fields + 2] = 'f', first end
  redis.call('HSET', meta, unpack(fields)) -- first: a new meta must exist for PEXPIRE
  if ttl > 0 then
    if created or m[6] ~= ttls or redis.call('PTTL', meta) < ttl then
      local life = ttl + math.floor(ttl / 8)
      redis.call('PEXPIRE', meta, life)
      if size > 0 then redis.call('PEXPIRE', stream, life) end
    end
  elseif m[6] ~= ttls then
    redis.call('PERSIST', meta)
    redis.call('PERSIST', stream)
  end
  if idem_ttl > 0 then redis.call('SET', idem, epoch .. ':' .. offset, 'PX', idem_ttl) end
  local msg = 'p\\n' .. epoch .. '\\n' .. offset .. '\\n' .. ts .. '\\n' .. info .. '\\n' .. data
  redis.call(a[at + 8] == '1' and 'SPUBLISH' or 'PUBLISH', a[at + 7], msg)
  return epoch, top + 1, 0
end

-- KEYS: per publication: meta, stream, idempotency key (= meta when none)
-- ARGV: per publication: the eight arguments of publish_one
-- Returns per publication: epoch, offset, 1 = duplicate (idempotency key seen) —
-- or '', -1, the error message when that publication failed (it fails alone).
-- One call may carry several publications (the engine sends those of one event-loop
-- turn together, on one server): the replication id and the time are read once.
-- They are applied in order, each as it would be in a call of its own.
local function publish(keys, args)
  local rid = replid()
  local now = now_ms()
  local out = {}
  for i = 0, #keys / 3 - 1 do
    local ok, e, o, d = pcall(publish_one, keys[3 * i + 1], keys[3 * i + 2], keys[3 * i + 3], args, 8 * i, rid, now)
    local n = 3 * i
    if ok then
      out[n + 1], out[n + 2], out[n + 3] = e, o, d
    else
      out[n + 1], out[n + 2], out[n + 3] = '', -1, type(e) == 'table' and (e.err or '?') or tostring(e)
    end
  end
  return out
end

-- KEYS: meta, stream
-- ARGV: candidate epoch, since epoch or '', since offset, limit, '1' = newest first
-- Returns {epoch, top, offset1, ts1, info1, data1, offset2, ...}: the page and the
-- top read in the same atomic step.
local function history(keys, args)
  local meta, stream = keys[1], keys[2]
  local epoch, top = current_epoch(meta, stream, args[1], true)
  local ttl = tonumber(redis.call('HGET', meta, 't') or '0') or 0
  trim_expired(stream, ttl, now_ms())
  local out = {epoch, top}
  local limit = tonumber(args[4])
  if limit <= 0 then return out end
  local reverse = args[5] == '1'
  local entries
  if args[2] == epoch then
    local after = '(' .. args[3] .. '-0'
    if reverse then
      entries = redis.call('XREVRANGE', stream, '+', after, 'COUNT', limit)
    else
      entries = redis.call('XRANGE', stream, after, '+', 'COUNT', limit)
    end
  elseif reverse then
    entries = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', limit)
  else
    entries = redis.call('XRANGE', stream, '-', '+', 'COUNT', limit)
  end
  for i = 1, #entries do
    local f = entries[i][2]
    out[#out + 1] = tonumber(string.match(entries[i][1], '^(%d+)'))
    out[#out + 1] = f[2]
    out[#out + 1] = f[4]
    out[#out + 1] = f[6]
  end
  return out
end

-- Presence: hash client -> "<user>\\n<client info JSON>", sorted set client -> lease expiry (ms).
-- Both keys outlive every lease so that a sweep can still publish the leave.
local function extend_life(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

-- Removes expired entries and publishes their leave (atomic: exactly one node does it).
local function sweep(hash, zset, channel, sharded)
  local expired = redis.call('ZRANGEBYSCORE', zset, '-inf', fmt(now_ms()), 'LIMIT', 0, ${SWEEP_BATCH})
  for i = 1, #expired do
    local v = redis.call('HGET', hash, expired[i])
    redis.call('HDEL', hash, expired[i])
    redis.call('ZREM', zset, expired[i])
    if v then
      local nl = string.find(v, '\\n', 1, true)
      redis.call(sharded == '1' and 'SPUBLISH' or 'PUBLISH', channel, 'l\\n' .. string.sub(v, nl + 1))
    end
  end
  return #expired
end

-- KEYS: hash, zset; ARGV: client, value, lease ms. Returns 1 when the client is new.
local function presence_add(keys, args)
  local lease = tonumber(args[3])
  local added = redis.call('HSET', keys[1], args[1], args[2])
  redis.call('ZADD', keys[2], fmt(now_ms() + lease), args[1])
  extend_life(keys[1], lease * 2 + 10000)
  extend_life(keys[2], lease * 2 + 10000)
  return added
end

-- KEYS: hash, zset; ARGV: client. Returns 1 when it was present.
local function presence_remove(keys, args)
  redis.call('ZREM', keys[2], args[1])
  return redis.call('HDEL', keys[1], args[1])
end

-- KEYS: hash, zset; ARGV: pub/sub channel, '1' = SPUBLISH
local function presence_get(keys, args)
  sweep(keys[1], keys[2], args[1], args[2])
  return redis.call('HVALS', keys[1])
end

local function presence_stats(keys, args)
  sweep(keys[1], keys[2], args[1], args[2])
  local values = redis.call('HVALS', keys[1])
  local users, count = {}, 0
  for i = 1, #values do
    local user = string.sub(values[i], 1, string.find(values[i], '\\n', 1, true) - 1)
    if not users[user] then users[user] = true count = count + 1 end
  end
  return {#values, count}
end

-- KEYS: hash1, zset1, hash2, zset2, ... (several channels: one server only)
-- ARGV: '1' = SPUBLISH, pub/sub channel 1, pub/sub channel 2, ...
local function presence_sweep(keys, args)
  local removed = 0
  for i = 2, #args do
    removed = removed + sweep(keys[2 * i - 3], keys[2 * i - 2], args[i], args[1])
  end
  return removed
end

redis.register_function('${Fn.publish}', publish)
redis.register_function('${Fn.history}', history)
redis.register_function('${Fn.presenceAdd}', presence_add)
redis.register_function('${Fn.presenceRemove}', presence_remove)
redis.register_function('${Fn.presenceGet}', presence_get)
redis.register_function('${Fn.presenceStats}', presence_stats)
redis.register_function('${Fn.presenceSweep}', presence_sweep)
`;
