-- promote: SCHEDULED tasks whose due time has come -> PENDING at the tail of the
-- list of their queue (queue_name) that their `queue` field names: the retry list
-- for a retry (fail.lua sets it), the new-work list of their priority for a task
-- created with a run time that never ran. retry_count is untouched. Safe with
-- several schedulers: each id moves once.
-- Due means PENDING (docs/state-machine.md, "Delayed tasks"): every read already
-- shows a due task PENDING, so this call only makes that so in Redis, in two steps:
-- 1. the move, in bulk: per destination list, the due ids of its scheduled part
--    (ZRANGE BYSCORE LIMIT, LPUSH in chunks, ZREMRANGEBYRANK, SADD to
--    tasks:scheduled:moved), about a µs of server CPU per id, so claimers can take
--    them at once;
-- 2. once nothing due is left to move, the catch-up: per task one HMGET and one
--    HSET (state, its PENDING history entry stamped at its due time, the score in
--    tasks:scheduled, as reads showed it; queue where it changes), the ZREM from
--    tasks:scheduled, the index moves, counters and events once per call. A claim
--    that pops an id before this reaches its hash records the same
--    (_claim_due.lua, catch_up_popped).
-- A call stops taking tasks once it has used about its budget of server CPU, so it
-- never blocks the server for long whatever its limit; the rest stay for the next
-- call. A task with malformed fields is left alone, SCHEDULED and in
-- tasks:scheduled, for an operator (as every script leaves one).
-- An id written to tasks:scheduled before the scheduled parts existed is in no
-- part and was never moved: the catch-up pushes it onto its list too, as promotion
-- always did.
-- KEYS[1]  tasks:scheduled
-- ARGV[1]  key prefix
-- ARGV[2]  how many at most in this call (catch-up; the move takes up to MOVE_MAX)
-- ARGV[3]  server CPU budget of the call in ms (default 20)
-- Returns  {caught up, ms until the next due task (0: more are due now) or -1 when
--          none is scheduled (malformed tasks left behind do not count)}
local limit = tonumber(ARGV[2])
local budget_ms = tonumber(ARGV[3]) or 20
local CHUNK = 4000
-- Ids moved onto lists per call: ~0.6 µs of server CPU each (docs/performance.md).
local MOVE_MAX = 20000
-- The batched writes after the catch-up loop (index moves, events) cost as much
-- CPU as the loop itself or more, so the loop stops at this share of the budget.
local LOOP_SHARE = 0.4
local CLOCK_EVERY = 64
local FIELDS = { 'state', 'task_type', 'created_us', 'queue', 'queue_name', 'priority',
  'state_log', 'scheduled_at' }

-- CPU time, not the Redis clock: TIME stands still for the length of a script.
-- os.clock is there from Redis 7.4 and Valkey 8 on; on an older server a call is
-- cut by its limit alone.
local os_lib = rawget(_G, 'os')
local cpu_clock = os_lib and os_lib.clock
local started = cpu_clock and cpu_clock() or 0
local function elapsed_ms()
  if not cpu_clock then return 0 end
  return (cpu_clock() - started) * 1000
end

-- A task as FIELDS read it, or nil when it is not a well-formed SCHEDULED task.
local function scheduled_task(id, v)
  if v[1] ~= 'SCHEDULED' or not tonumber(v[3]) or not v[2] or v[2] == '' then return nil end
  return { id = id, state = 'SCHEDULED', task_type = v[2], created_us = v[3],
    created_n = tonumber(v[3]), queue = v[4] or '', queue_name = v[5] or '',
    priority = tonumber(v[6]) or 0, state_log = v[7] or '', scheduled_at = v[8] or '' }
end

-- 1. The move: due ids from each scheduled part onto its list.
local room = MOVE_MAX
local function move_due(q, list, level)
  local part = scheduled_part(list)
  local ids = redis.call('ZRANGE', part, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, room)
  if #ids == 0 then
    if level > 0 and redis.call('EXISTS', part) == 0 then
      redis.call('ZREM', scheduled_levels(q), level)
    end
    return
  end
  for i = 1, #ids, CHUNK do
    redis.call('LPUSH', list, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
    redis.call('SADD', scheduled_moved(), unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
  end
  redis.call('ZREMRANGEBYRANK', part, 0, #ids - 1)
  if level > 0 then redis.call('ZADD', q.levels, level, level) end
  q.wake = q.wake + #ids
  room = room - #ids
end
local queues = { queue_keys(DEFAULT_QUEUE) }
for _, name in ipairs(redis.call('SMEMBERS', scheduled_queues())) do
  queues[#queues + 1] = queue_keys(name)
end
for _, q in ipairs(queues) do
  if room > 0 then move_due(q, q.retry, 0) end
  if room > 0 then move_due(q, q.primary, 0) end
  for _, level in ipairs(redis.call('ZRANGE', scheduled_levels(q), 0, -1)) do
    if room > 0 then move_due(q, level_list(q, tonumber(level)), tonumber(level)) end
  end
end
if room == 0 then
  -- More may be due to move: the catch-up waits until every due id is on its list.
  finish({})
  return { 0, 0 }
end

-- 2. The catch-up: hashes of moved ids, PENDING as of their due time.
local due = redis.call('ZRANGE', SCHEDULED, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, limit,
  'WITHSCORES')
local events, gone, moved, caught = {}, {}, 0, {}
local stopped = false
-- Which of them the move put on their lists (the rest were written before the
-- scheduled parts existed): one read for the whole batch.
local ids = {}
for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
local on_list = {}
for i = 1, #ids, CHUNK do
  local found = redis.call('SMISMEMBER', scheduled_moved(), unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
  for k, v in ipairs(found) do on_list[i + k - 1] = v == 1 end
end
local pushes, order, iso_of = {}, {}, {}
for i = 1, #due, 2 do
  if i % (2 * CLOCK_EVERY) == 1 and i > 1 and elapsed_ms() > budget_ms * LOOP_SHARE then
    stopped = true
    break
  end
  local id = due[i]
  local v = redis.call('HMGET', task_key(id), unpack(FIELDS))
  local t = scheduled_task(id, v)
  -- Anything else but SCHEDULED is a stale pointer (its task is gone or moved on):
  -- dropped from tasks:scheduled with the promoted ones.
  if t or v[1] ~= 'SCHEDULED' then gone[#gone + 1] = id end
  if t then
    if on_list[(i + 1) / 2] then
      caught[#caught + 1] = id
    else
      local list, q = due_list(t)
      if not pushes[list] then
        pushes[list] = {}
        order[#order + 1] = list
        if first_run(t.queue) and t.priority > 0 then redis.call('ZADD', q.levels, t.priority, t.priority) end
      end
      pushes[list][#pushes[list] + 1] = id
      wake(q)
    end
    local due_ms = tonumber(due[i + 1])
    -- A mass due at one instant shares one due time: formatted once.
    local due_iso = iso_of[due_ms]
    if not due_iso then due_iso = iso_ms(due_ms); iso_of[due_ms] = due_iso end
    pending_at_due(t, due_ms, due_iso)
    moved = moved + 1
    events[moved] = changed(t, 'SCHEDULED', 'PENDING')
  end
end
for i = 1, #gone, CHUNK do
  redis.call('ZREM', SCHEDULED, unpack(gone, i, math.min(i + CHUNK - 1, #gone)))
end
for i = 1, #caught, CHUNK do
  redis.call('SREM', scheduled_moved(), unpack(caught, i, math.min(i + CHUNK - 1, #caught)))
end
for _, list in ipairs(order) do
  local pushed = pushes[list]
  for i = 1, #pushed, CHUNK do
    redis.call('LPUSH', list, unpack(pushed, i, math.min(i + CHUNK - 1, #pushed)))
  end
end
finish(events)
-- More due now: the call stopped at its budget or its limit having made progress.
-- Otherwise the next task due later (malformed ones left behind would make a
-- "0" that never ends).
if #gone > 0 and (stopped or #due == 2 * limit) then return { moved, 0 } end
local next_due = redis.call('ZRANGE', SCHEDULED, '(' .. NOW_MS, '+inf', 'BYSCORE', 'LIMIT', 0, 1,
  'WITHSCORES')
local wait = -1
if next_due[2] then wait = tonumber(next_due[2]) - NOW_MS end
return { moved, wait }
