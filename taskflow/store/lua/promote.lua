-- promote: SCHEDULED tasks whose due time has come -> PENDING at the tail of the
-- list of their queue (queue_name) that their `queue` field names: the retry list
-- for a retry (fail.lua sets it), the new-work list of their priority for a task
-- created with a run time that never ran. retry_count is untouched. Safe with
-- several schedulers: each id moves once.
-- A lean bulk step (docs/state-machine.md, "Delayed tasks"; a mass of due tasks is
-- what this script meets): per task only one HMGET of the seven fields it needs and
-- one HSET (state, updated_at, its state_log entry; queue only where it changes);
-- everything else once per call: the ZREM from tasks:scheduled, one LPUSH per list,
-- the index moves and the counters (batched by the prelude), the events (finish()).
-- A call stops taking tasks
-- once it has used about its budget of server CPU, so it never blocks the server
-- for long whatever its limit; the rest stay due for the next call. A task with
-- malformed fields is left alone, SCHEDULED and in tasks:scheduled, for an operator
-- (as every script leaves one): it spoils neither the call nor the tasks behind it.
-- KEYS[1]  tasks:scheduled
-- ARGV[1]  key prefix
-- ARGV[2]  how many at most in this call
-- ARGV[3]  server CPU budget of the call in ms (default 20)
-- Returns  {moved, ms until the next due task (0: more are due now) or -1 when none
--          is scheduled (malformed tasks left behind do not count)}
local limit = tonumber(ARGV[2])
local budget_ms = tonumber(ARGV[3]) or 20
local due = redis.call('ZRANGE', SCHEDULED, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, limit)
local CHUNK = 4000
-- The batched writes after the loop (index moves, pushes, events) cost as much CPU
-- as the loop itself or more (measured: docs/performance.md, "Promotion lag"), so
-- the loop stops at this share of the budget.
local LOOP_SHARE = 0.4
local CLOCK_EVERY = 64
local FIELDS = { 'state', 'task_type', 'created_us', 'queue', 'queue_name', 'priority',
  'state_log' }

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

local events, pushes, order, gone, moved = {}, {}, {}, {}, 0
local stopped = false
local from_all, to_all = state_index('SCHEDULED'), state_index('PENDING')
for i, id in ipairs(due) do
  if i % CLOCK_EVERY == 0 and elapsed_ms() > budget_ms * LOOP_SHARE then
    stopped = true
    break
  end
  local v = redis.call('HMGET', task_key(id), unpack(FIELDS))
  local malformed = v[1] == 'SCHEDULED' and (not tonumber(v[3]) or not v[2] or v[2] == '')
  -- Anything else but SCHEDULED is a stale pointer (its task is gone or moved on):
  -- dropped from tasks:scheduled with the promoted ones.
  if not malformed then gone[#gone + 1] = id end
  if v[1] == 'SCHEDULED' and not malformed then
    local t = { id = id, task_type = v[2], queue = v[4] or '', queue_name = v[5] or '',
      priority = tonumber(v[6]) or 0 }
    local q = queue_of(t)
    local first_run = t.queue == 'primary' or string.sub(t.queue, 1, 6) == 'queue:'
    local list_name = first_run and 'primary' or 'retry'
    local args = { 'HSET', task_key(id), 'state', 'PENDING', 'updated_at', NOW_ISO,
      'state_log', (v[7] or '') .. log_entry('PENDING', tonumber(v[3])) }
    if t.queue ~= list_name then
      args[#args + 1] = 'queue'
      args[#args + 1] = list_name
    end
    if t.queue_name == '' and string.sub(t.queue, 1, 6) == 'queue:' then
      -- A task of the older named-queue scheme keeps its queue by name from now on.
      args[#args + 1] = 'queue_name'
      args[#args + 1] = string.sub(t.queue, 7)
    end
    redis.call(unpack(args))
    index_remove(from_all, id)
    index_remove(state_type_index('SCHEDULED', t.task_type), id)
    index_add(to_all, v[3], id)
    index_add(state_type_index('PENDING', t.task_type), v[3], id)
    local list = first_run and level_list(q, t.priority) or q.retry
    wake(q)
    if not pushes[list] then
      pushes[list] = {}
      order[#order + 1] = list
      if first_run and t.priority > 0 then redis.call('ZADD', q.levels, t.priority, t.priority) end
    end
    local ids = pushes[list]
    ids[#ids + 1] = id
    moved = moved + 1
    events[moved] = changed(t, 'SCHEDULED', 'PENDING')
  end
end
for i = 1, #gone, CHUNK do
  redis.call('ZREM', SCHEDULED, unpack(gone, i, math.min(i + CHUNK - 1, #gone)))
end
count('SCHEDULED', -moved)
count('PENDING', moved)
for _, list in ipairs(order) do
  local ids = pushes[list]
  for i = 1, #ids, CHUNK do
    redis.call('LPUSH', list, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
  end
end
finish(events)
-- More due now: the call stopped at its budget or its limit having made progress.
-- Otherwise the next task due later (malformed ones left behind would make a
-- "0" that never ends).
if #gone > 0 and (stopped or #due == limit) then return { moved, 0 } end
local next_due = redis.call('ZRANGE', SCHEDULED, '(' .. NOW_MS, '+inf', 'BYSCORE', 'LIMIT', 0, 1,
  'WITHSCORES')
local wait = -1
if next_due[2] then wait = tonumber(next_due[2]) - NOW_MS end
return { moved, wait }
