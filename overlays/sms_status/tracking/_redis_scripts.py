"""The Lua scripts of `RedisStore` (`_redis`), and the layout of its keys.

Every key of a store starts with `sms-status:tracking:{<name>}:` (a hash tag: one cluster
slot):

- `rows` (hash): `"<provider>:<message_id>"` -> `"<version>:<write id>:<row as a JSON list>"`.
- `due` / `hand` (sorted sets): unclaimed rows by next poll / next hand-over time (the
  tracker's clock).
- `pheld` / `hheld` (hashes): claimed rows -> `"<worker token> <due time or ->"`; a claimed row
  is in `pheld`/`hheld` instead of `due`/`hand`, so two workers never hold it at once.
- `leases` (sorted set): worker token -> lease end, in milliseconds on the Redis server's clock
  (`TIME`), renewed by every call the worker makes; `w:<token>` (set): what it holds. A worker
  whose lease ran out (it died) has its claims put back by the next claim any worker makes.
- `counts` (hash): maintained counters (`counts()` is one HGETALL, exact: each changes in the
  script that changes the row). `done` (sorted set): handed-over rows by settle time, deleted
  after `retention` by `purge()`. `e:<key>` (string): an early push, expiring after an hour.
  `pushes` (hash): provider -> when its last push came (`last_push`). `rests` (hash):
  provider -> `"<end, ms on the server's clock> <429s in a row> <length, s>"`, its last rest
  (`rest`, `rest_over`). `staging:<id>` (list):
  a large `add_many` being read, stored once it is read to its end (expires if abandoned).
"""

from __future__ import annotations

from typing import Final

# ARGV[1] the key prefix, ARGV[2] the worker token, ARGV[3] the lease in ms; then each
# script's own. KEYS[1] is the rows hash (cluster routing; every key shares its slot).

_OPENED: Final = """
local P = ARGV[1]
local token = ARGV[2]
local lease = tonumber(ARGV[3])
local clock = redis.call('TIME')
local srv = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local Q = {p = {P .. 'due', P .. 'pheld'}, h = {P .. 'hand', P .. 'hheld'}}
local mine = P .. 'w:' .. token

-- Put a row where it belongs in queue qn after a change. `new`: its new time there ('' for
-- none), or nil when the row was not written. `release`: give up this worker's claim on it.
local function place(qn, k, new, release)
    local q = Q[qn]
    local held = redis.call('HGET', q[2], k)
    if held then
        local who, kept = string.match(held, '^(%S+) (%S+)$')
        if release and who == token then
            redis.call('HDEL', q[2], k)
            redis.call('SREM', mine, qn .. '|' .. k)
            local score = new or kept
            if score ~= '' and score ~= '-' then
                redis.call('ZADD', q[1], score, k)
            end
        elseif new then
            if new == '' then new = '-' end
            redis.call('HSET', q[2], k, who .. ' ' .. new)
        end
    elseif new then
        if new == '' then
            redis.call('ZREM', q[1], k)
        else
            redis.call('ZADD', q[1], new, k)
        end
    end
end

-- Claims of workers whose lease ran out go back to their queues.
local function expire_dead()
    local dead = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', srv, 'LIMIT', 0, 16)
    for _, owner in ipairs(dead) do
        local set = P .. 'w:' .. owner
        for _, m in ipairs(redis.call('SMEMBERS', set)) do
            local q = Q[string.sub(m, 1, 1)]
            local k = string.sub(m, 3)
            local held = redis.call('HGET', q[2], k)
            if held then
                local who, kept = string.match(held, '^(%S+) (%S+)$')
                if who == owner then
                    redis.call('HDEL', q[2], k)
                    if kept ~= '-' then
                        redis.call('ZADD', q[1], kept, k)
                    end
                end
            end
        end
        redis.call('DEL', set)
        redis.call('ZREM', P .. 'leases', owner)
    end
end

-- The rows a claim of this worker took (`claim:<id>`, noted for a lease) that it still holds:
-- queue name, keys, values; nil when nothing is noted.
local function noted(id)
    local memo = redis.call('GET', P .. 'claim:' .. id)
    local keys, values = {}, {}
    if not memo then
        return nil, keys, values
    end
    local qn = string.sub(memo, 1, 1)
    for k in string.gmatch(string.sub(memo, 3), '[^\\n]+') do
        local held = redis.call('HGET', Q[qn][2], k)
        local value = redis.call('HGET', P .. 'rows', k)
        if held and value and string.match(held, '^(%S+) ') == token then
            keys[#keys + 1] = k
            values[#values + 1] = value
        end
    end
    return qn, keys, values
end

-- Claims of this worker whose answer never came (ids ARGV[from..]): their rows go back, once.
local function give_back_claims(from)
    for i = from, #ARGV do
        local qn, keys = noted(ARGV[i])
        for _, k in ipairs(keys) do
            place(qn, k, nil, true)
        end
        redis.call('DEL', P .. 'claim:' .. ARGV[i])
    end
end
"""

STORE_LOST: Final = "STORE_LOST"
"""The error a script answers when the store's `meta` key is gone, or holds another store's
id than the one in the worker's token (made anew by another worker's open since): Redis
restarted without persistence, was flushed, or evicted keys (`_redis_rows.retried` raises
`StoreLostError`)."""

SCHEMA_VERSION: Final = 2  # 2: rows carry `failures`, `due_since` (schema 1 rows: none)

STORE_VERSION: Final = "STORE_VERSION"
"""The error a script answers when a newer tracker raised the store's schema since this
worker opened it (a rolling upgrade): `STORE_VERSION <schema> <written by>`."""

PRELUDE: Final = (
    _OPENED
    + """
-- The store this worker opened, not one made since under its name (after a flush, say).
local meta = redis.call('HMGET', P .. 'meta', 'id', 'schema', 'written_by')
if meta[1] ~= string.match(token, '^([^/]*)/') then
    return redis.error_reply('STORE_LOST the keys of the store are gone')
end
-- Nor one a newer tracker has since written rows to that this one would misread.
if meta[2] and tonumber(meta[2]) > """
    + str(SCHEMA_VERSION)
    + """ then
    return redis.error_reply('STORE_VERSION ' .. meta[2] .. ' ' .. (meta[3] or ''))
end
"""
)

# ARGV[4] queue ('p' | 'h'), ARGV[5] now (tracker clock), ARGV[6] limit, ARGV[7] this claim's
# id; ARGV[8..] ids of this worker's claims whose answer never came: their rows go back. What
# a claim took is noted (`claim:<id>`, for a lease) so that, sent again after a lost answer,
# it answers the same rows (those still this worker's) instead of taking more. Returns the
# keys, their rows and the early pushes still kept for claimed polls (key, value, ...).
CLAIM: Final = (
    PRELUDE
    + """
expire_dead()
give_back_claims(8)
local qn = ARGV[4]
local q = Q[qn]
local memo = P .. 'claim:' .. ARGV[7]
local again, keys, values = noted(ARGV[7])
local early = {}
if again then
    redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
    return {keys, values, early}
end
local found = redis.call('ZRANGEBYSCORE', q[1], '-inf', ARGV[5], 'WITHSCORES', 'LIMIT', 0,
    tonumber(ARGV[6]))
if #found > 0 then
    redis.call('ZADD', P .. 'leases', srv + lease, token)
    for i = 1, #found, 2 do
        local k, score = found[i], found[i + 1]
        redis.call('ZREM', q[1], k)
        local value = redis.call('HGET', P .. 'rows', k)
        if value then
            redis.call('HSET', q[2], k, token .. ' ' .. score)
            redis.call('SADD', mine, qn .. '|' .. k)
            keys[#keys + 1] = k
            values[#values + 1] = value
            local e = qn == 'p' and redis.call('GET', P .. 'e:' .. k)
            if e then  -- kept for the add() that stored this row, killed before it applied it
                early[#early + 1], early[#early + 2] = k, e
            end
        end
    end
    if #keys > 0 then
        redis.call('SET', memo, qn .. ' ' .. table.concat(keys, '\\n'), 'PX', lease)
    end
else
    redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
end
return {keys, values, early}
"""
)

# Groups of 8 from ARGV[4]: key, expected version ('' = write nothing, only release), the
# value to write, its poll time, its hand-over time, its `done` time ('' = none), the counter
# changes ("+tag,-tag"), flags ('p'/'h': release this worker's claim in that queue; 'P'/'H':
# write only while this worker holds its claim there; 'e': drop the key's early push).
# Returns the keys whose version moved on (to be read and tried again) and the keys not
# written: no longer stored, or claimed by another worker ('P'/'H').
CHANGE: Final = (
    PRELUDE
    + """
redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
local conflicts, gone = {}, {}
local function holds(qn, k)
    local held = redis.call('HGET', Q[qn][2], k)
    return held and string.match(held, '^(%S+) ') == token
end
for i = 4, #ARGV, 8 do
    local k, expect, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local flags = ARGV[i + 7]
    local state = 'release'
    if expect ~= '' then
        local current = redis.call('HGET', P .. 'rows', k)
        if not current then
            gone[#gone + 1] = k
        elseif current == value then
            state = 'again'  -- this very write is in already: a call sent again
        elseif string.match(current, '^(%d+):') ~= expect then
            conflicts[#conflicts + 1] = k
            state = 'conflict'
        else
            state = 'write'
        end
    end
    if state == 'write' and ((string.find(flags, 'H', 1, true) and not holds('h', k))
            or (string.find(flags, 'P', 1, true) and not holds('p', k))) then
        gone[#gone + 1] = k  -- this worker's lease lapsed: the claim is another's, or free
        state = 'lost'
    end
    if state == 'write' then
        redis.call('HSET', P .. 'rows', k, value)
        for sign, tag in string.gmatch(ARGV[i + 6], '([+-])([^,]+)') do
            redis.call('HINCRBY', P .. 'counts', tag, sign == '+' and 1 or -1)
        end
        if ARGV[i + 5] ~= '' then
            redis.call('ZADD', P .. 'done', ARGV[i + 5], k)
        else
            redis.call('ZREM', P .. 'done', k)
        end
    end
    if state == 'write' or state == 'again' then
        place('p', k, ARGV[i + 3], string.find(flags, 'p', 1, true) ~= nil)
        place('h', k, ARGV[i + 4], string.find(flags, 'h', 1, true) ~= nil)
    elseif state == 'release' then
        place('p', k, nil, string.find(flags, 'p', 1, true) ~= nil)
        place('h', k, nil, string.find(flags, 'h', 1, true) ~= nil)
    end
    if state ~= 'conflict' and state ~= 'lost' and string.find(flags, 'e', 1, true) then
        redis.call('DEL', P .. 'e:' .. k)
    end
end
return {conflicts, gone}
"""
)

# ARGV[4] a staging list, ARGV[5] its length before these items, ARGV[6] its TTL (s); the items
# from ARGV[7]. Sent again after a lost answer it adds nothing twice. Returns the new length,
# or -1 when the list is not as staged (evicted or expired).
STAGE: Final = """
local n = redis.call('LLEN', ARGV[4])
local before, count = tonumber(ARGV[5]), #ARGV - 6
if n == before then
    redis.call('RPUSH', ARGV[4], unpack(ARGV, 7))
    redis.call('EXPIRE', ARGV[4], tonumber(ARGV[6]))
    return n + count
elseif n == before + count then
    return n
end
return -1
"""

# ARGV[4] a staging list ('' for none), ARGV[5] its length as staged, ARGV[6] where to start
# in it and ARGV[7] how many items to take (multiples of 3); then triples from ARGV[8]: key,
# value, poll time. The triples are stored and queued if new. Returns how many were new
# (-1: the staging list is not as staged, evicted or expired) and every given key's early
# push (key, value, ...). Sent again after a lost answer it answers as it did: a row whose
# value is the one given was stored by this very call (each call's write id is its own),
# unless the key came before in it.
INSERT: Final = (
    PRELUDE
    + """
local items = {}
if ARGV[4] ~= '' then
    local start = tonumber(ARGV[6])
    if redis.call('LLEN', ARGV[4]) ~= tonumber(ARGV[5]) then
        return {-1, {}}
    end
    items = redis.call('LRANGE', ARGV[4], start, start + tonumber(ARGV[7]) - 1)
end
for i = 8, #ARGV do
    items[#items + 1] = ARGV[i]
end
local new, again, seen = 0, 0, {}
local early = {}
for i = 1, #items, 3 do
    local k = items[i]
    if redis.call('HSETNX', P .. 'rows', k, items[i + 1]) == 1 then
        new = new + 1
        redis.call('ZADD', P .. 'due', items[i + 2], k)
    elseif not seen[k] and redis.call('HGET', P .. 'rows', k) == items[i + 1] then
        again = again + 1
    end
    seen[k] = true
    local e = redis.call('GET', P .. 'e:' .. k)
    if e then
        early[#early + 1] = k
        early[#early + 1] = e
    end
end
if new > 0 then
    redis.call('HINCRBY', P .. 'counts', 'in_flight', new)
end
return {new + again, early}
"""
)

# ARGV[4] key, ARGV[5] provider, ARGV[6] now: notes that the provider's webhooks arrive
# (`last_push`); returns the row and the early push kept for it.
PEEK: Final = (
    PRELUDE
    + """
redis.call('HSET', P .. 'pushes', ARGV[5], ARGV[6])
local row = redis.call('HGET', P .. 'rows', ARGV[4])
local early = redis.call('GET', P .. 'e:' .. ARGV[4])
return {row or '', early or ''}
"""
)

# ARGV[4] key, ARGV[5] the early push read ('' none), ARGV[6] the one to keep, ARGV[7] its TTL
# in ms (from its arrival, on the server's clock).
EARLY: Final = (
    PRELUDE
    + """
local k = ARGV[4]
if redis.call('HEXISTS', P .. 'rows', k) == 1 then
    return 'row'
end
local current = redis.call('GET', P .. 'e:' .. k)
if (current or '') ~= ARGV[5] then
    return 'conflict'
end
redis.call('SET', P .. 'e:' .. k, ARGV[6], 'PX', ARGV[7])
return 'ok'
"""
)

# ARGV[4] cutoff (tracker clock), ARGV[5] limit: forget handed-over rows settled before it.
PURGE: Final = (
    PRELUDE
    + """
local found = redis.call('ZRANGEBYSCORE', P .. 'done', '-inf', ARGV[4], 'LIMIT', 0,
    tonumber(ARGV[5]))
for _, k in ipairs(found) do
    local value = redis.call('HGET', P .. 'rows', k)
    if value then
        local a = string.find(value, ':', 1, true)
        local b = string.find(value, ':', a + 1, true)
        local text = string.sub(value, b + 1)
        local ok, row = pcall(cjson.decode, text)
        if not ok then  -- a lone surrogate's escape (a tag stored before add() refused one)
            -- (an escape is one whose backslash is not itself escaped: an odd run of them)
            row = cjson.decode((string.gsub(text, '(\\\\+)(u[dD][89a-fA-F]%x%x)',
                function(slashes, _)
                    if #slashes % 2 == 1 then return string.sub(slashes, 2) .. '?' end
                end)))
        end
        local state, reason = row[12], row[16]
        if type(state) ~= 'string' then state = 'unknown' end
        if type(reason) == 'string' then
            redis.call('HINCRBY', P .. 'counts', 's|' .. reason .. '|' .. state, -1)
        end
        if type(row[6]) == 'number' then
            redis.call('HINCRBY', P .. 'counts', 'in_flight', -1)
        end
        if type(row[18]) == 'number' then
            redis.call('HINCRBY', P .. 'counts', 'awaiting', -1)
        end
        redis.call('HDEL', P .. 'rows', k)
        redis.call('ZREM', P .. 'due', k)
        redis.call('ZREM', P .. 'hand', k)
    end
    redis.call('ZREM', P .. 'done', k)
end
return #found
"""
)

# The earliest poll and hand-over times, and how many rows are claimed.
WAKE: Final = (
    PRELUDE
    + """
local due = redis.call('ZRANGE', P .. 'due', 0, 0, 'WITHSCORES')
local hand = redis.call('ZRANGE', P .. 'hand', 0, 0, 'WITHSCORES')
local held = redis.call('HLEN', P .. 'pheld') + redis.call('HLEN', P .. 'hheld')
return {due[2] or '', hand[2] or '', held}
"""
)

# Renew this worker's lease, if it has one (a heartbeat while it runs: `_redis_lease`);
# ARGV[4..] ids of its claims whose answer never came: their rows go back (as with CLAIM).
RENEW: Final = (
    PRELUDE
    + """
give_back_claims(4)
return redis.call('ZADD', P .. 'leases', 'XX', srv + lease, token)
"""
)

# Give back every claim of this worker (run() ending).
RELEASE_ALL: Final = (
    PRELUDE
    + """
for _, m in ipairs(redis.call('SMEMBERS', mine)) do
    place(string.sub(m, 1, 1), string.sub(m, 3), nil, true)
end
redis.call('DEL', mine)
redis.call('ZREM', P .. 'leases', token)
return 1
"""
)

# A provider's rest (`rests`): its end (ms, the server's clock), 429s in a row, length (s);
# a value not of this layout is none.
RESTS_PRELUDE: Final = (
    PRELUDE
    + """
local function rest_of(provider)
    local value = redis.call('HGET', P .. 'rests', provider) or ''
    local stop, n, len, by = string.match(value, '^(%d+) (%d+) (%d+%.?%d*) (%S+)$')
    if stop then return tonumber(stop), tonumber(n), tonumber(len), by end
end
local function note(provider, stop, n, len, by)
    redis.call('HSET', P .. 'rests', provider, string.format('%d %d %.6f %s', stop, n, len, by))
end
"""
)

# A 429 of provider ARGV[4] (Retry-After ARGV[5] s, 0 if none; max_interval ARGV[6] s; the
# first rest ARGV[7] s; ARGV[8] this write's id): the rest after it, as `_rests.next_rest`
# has it, on the server's clock. Returns it as {end (ms), 429s in a row, length (s), ms
# left}. Sent again (its answer lost), it counts its 429 once: the rest it wrote comes back.
REST: Final = (
    RESTS_PRELUDE
    + """
local stop, n, len, by = rest_of(ARGV[4])
if by ~= ARGV[8] then
    local in_a_row = 0
    if stop and srv <= stop + len * 1000 then in_a_row = n end
    local pause = tonumber(ARGV[7]) * 2 ^ math.min(in_a_row, 30)
    len = math.min(math.max(tonumber(ARGV[5]), pause), tonumber(ARGV[6]))
    stop, n = math.max(stop or srv, srv + math.floor(len * 1000)), in_a_row + 1
    note(ARGV[4], stop, n, len, ARGV[8])
end
return {string.format('%d', stop), n, string.format('%.6f', len),
    string.format('%d', stop - srv)}
"""
)

# A lookup of provider ARGV[4] was answered: its rest ends now, and its row of 429s.
REST_OVER: Final = (
    RESTS_PRELUDE
    + """
local stop, n, len = rest_of(ARGV[4])
if stop and (n > 0 or stop > srv) then note(ARGV[4], math.min(stop, srv), 0, len, '-') end
return 1
"""
)

# Every rest, and the server's time (ms) they are counted from.
RESTS: Final = (
    PRELUDE
    + """
return {string.format('%d', srv), redis.call('HGETALL', P .. 'rests')}
"""
)

# ARGV[4] this version's schema, ARGV[5] its version string, ARGV[6] an id for the store if
# it has none yet: the store's schema (raised to ARGV[4] if lower), its writer, and its id.
SCHEMA: Final = (
    _OPENED  # the one script that may find no store: it makes one
    + """
redis.call('HSETNX', P .. 'meta', 'schema', ARGV[4])
local schema = redis.call('HGET', P .. 'meta', 'schema')
if tonumber(schema) <= tonumber(ARGV[4]) then
    -- an older layout is read as it is (rows decode either way): from now on older
    -- trackers refuse the store instead of misreading what this one writes
    redis.call('HSET', P .. 'meta', 'schema', ARGV[4], 'written_by', ARGV[5])
    schema = ARGV[4]
end
redis.call('HSETNX', P .. 'meta', 'id', ARGV[6])
local writer = redis.call('HGET', P .. 'meta', 'written_by') or ''
return {schema, writer, redis.call('HGET', P .. 'meta', 'id')}
"""
)
