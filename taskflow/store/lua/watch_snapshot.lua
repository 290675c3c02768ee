-- watch_snapshot: a WatchTask's first message in one read-only call: the id of the
-- newest event kept, the Redis clock and the task's hash. Read in that order, a
-- change landing after the id is in the hash and also after the id (sent again on
-- resume, never lost); inside one call nothing lands between them at all.
-- KEYS[1]  tasks:events (the event stream)
-- KEYS[2]  task:{id}
-- ARGV[1]  key prefix
-- Returns  { newest event id ('' with none), NOW_MS, field, value, ... }
--          (the hash flat as HGETALL gives it; no field: the task does not exist)
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local reply = { newest[1] and newest[1][1] or '', NOW_MS }
local raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw do reply[i + 2] = raw[i] end
return reply
