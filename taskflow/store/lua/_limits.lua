-- Limits per task type (docs/state-machine.md, "Limits"), included after the
-- prelude by claim.lua (every claimer: our workers and remote ones), limits_started.lua
-- and limits_read.lua.
-- claim.lua calls limits_admit(t, events) for every PENDING
-- candidate; it grants the task (true) or holds it back (false: the task is parked
-- PENDING -> SCHEDULED with the reason in its history, no retry spent).
-- _claim_due.lua calls limits_admit_due(t) for a due first run it would take
-- straight from tasks:scheduled; held back, that one stays SCHEDULED, due later.
-- Key names mirror taskflow/store/keys.py (LimitKeys); time is the server clock.
--   limits:types                  hash: task type -> JSON of its limits (limits.py)
--   limits:rate_pending:{type}    zset: granted token -> ms its task must start by
--   limits:rate_sends:{type}      zset: started token -> ms the token comes back
--   limits:slots:{type}:{value}   zset: id holding a concurrency slot -> ms it took it
--   limits:slot_next:{type}:{value} ms the next task held back for that value is due
--   limits:slot_values:{type}     set: values with a slot set
--   limits:held:{type}            zset: id held back -> ms it is due again (kept
--                                 HELD_KEEP_MS past that: a task held again soon
--                                 after it came back is known as such)
--   limits:stats:{type}           hash: held_rate, held_concurrency (totals), run_ms
--                                 (how long a slot is held, a moving average)
local LIMIT_TYPES  -- per call (on_call below)
local HELD_KEEP_MS = 60000
-- A granted task usually starts about this long after its claim: a token not yet
-- reported started is expected back this much after the earliest it could be,
-- so the task waiting for it does not come back before it (and wait again).
local START_LAG_MS = 50
local function limit_key(part, task_type) return PREFIX .. 'limits:' .. part .. ':' .. task_type end
local function slots_key(task_type, value) return limit_key('slots', task_type) .. ':' .. value end

-- Per script call: each type's limits (false: none), free rate tokens, the line
-- of tasks held back by a rate, tasks held back per full slot set.
local LIMITS_OF, RATE_FREE, RATE_LINE
on_call(function()
  LIMIT_TYPES = key('limits:types')
  LIMITS_OF, RATE_FREE, RATE_LINE = {}, {}, {}
end)
local function limits_of(task_type)
  local cfg = LIMITS_OF[task_type]
  if cfg == nil then
    local raw = redis.call('HGET', LIMIT_TYPES, task_type)
    cfg = raw and cjson.decode(raw) or false
    LIMITS_OF[task_type] = cfg
  end
  return cfg
end

-- A token is out from its grant until one interval + margin after its task
-- started (limits_started.lua); one not confirmed by its start deadline counts
-- as started then, the latest a worker may start it.
local function rate_window(cfg) return cfg.interval_ms + cfg.margin_ms end
local function rate_settle(task_type, cfg)
  local pending, sends = limit_key('rate_pending', task_type), limit_key('rate_sends', task_type)
  local late = redis.call('ZRANGEBYSCORE', pending, '-inf', NOW_MS, 'WITHSCORES')
  for i = 1, #late, 2 do
    redis.call('ZADD', sends, 'GT', tonumber(late[i + 1]) + rate_window(cfg), late[i])
  end
  if #late > 0 then redis.call('ZREMRANGEBYSCORE', pending, '-inf', NOW_MS) end
  redis.call('ZREMRANGEBYSCORE', sends, '-inf', NOW_MS)
  return cfg.capacity - redis.call('ZCARD', pending) - redis.call('ZCARD', sends)
end
-- When a task held back by the rate should come back: when the token it waits for
-- is due back. Tasks already waiting are ahead in line, one token each (a token
-- spent again comes back a window later); one that came back too early (its
-- token's task started late) goes to the front, the soonest token.
local function rate_due(task_type, cfg, again)
  local line = RATE_LINE[task_type]
  if not line then
    local back = {}
    local sent = redis.call('ZRANGE', limit_key('rate_sends', task_type), 0, -1, 'WITHSCORES')
    for i = 2, #sent, 2 do back[#back + 1] = tonumber(sent[i]) end
    local granted = redis.call('ZRANGE', limit_key('rate_pending', task_type), 0, -1, 'WITHSCORES')
    for i = 2, #granted, 2 do
      back[#back + 1] = tonumber(granted[i]) - cfg.start_within_ms + rate_window(cfg) + START_LAG_MS
    end
    table.sort(back)
    if #back == 0 then back[1] = NOW_MS end
    local waiting = redis.call('ZCOUNT', limit_key('held', task_type), '(' .. NOW_MS, '+inf')
    line = { back = back, next = waiting }
    RATE_LINE[task_type] = line
  end
  local k = 0
  if not again then
    k = line.next
    line.next = k + 1
  end
  local m = #line.back
  local round = math.floor(k / m) * (rate_window(cfg) + START_LAG_MS)
  return math.max(NOW_MS + 1, line.back[k % m + 1] + round)
end

-- The value of the task's concurrency key ('metadata.tenant': its metadata's
-- `tenant`; nested paths by dots); '' when the task has none.
local function key_value(t, path)
  local raw = redis.call('HGET', task_key(t.id), 'metadata') or '{}'
  local ok, value = pcall(cjson.decode, raw)
  if not ok then return '' end
  for part in string.gmatch(string.gsub(path, '^metadata%.', ''), '[^%.]+') do
    if type(value) ~= 'table' then return '' end
    value = value[part]
  end
  if type(value) == 'string' or type(value) == 'number' then return tostring(value) end
  return ''
end
-- Slots in use: members still ACTIVE (the state, not tasks:leases, which a claim
-- may write only at its end). A member no longer ACTIVE (its task ended, or the
-- reaper requeued it once its dead worker's lease expired) frees its slot,
-- and how long it held it feeds run_ms; members are only looked at when the set
-- seems full.
local function slots_used(task_type, slots, limit)
  local used = redis.call('ZCARD', slots)
  if used < limit then return used end
  local members = redis.call('ZRANGE', slots, 0, -1, 'WITHSCORES')
  local stats = limit_key('stats', task_type)
  for i = 1, #members, 2 do
    if redis.call('HGET', task_key(members[i]), 'state') ~= 'ACTIVE' then
      redis.call('ZREM', slots, members[i])
      used = used - 1
      local held_ms = NOW_MS - tonumber(members[i + 1])
      local average = tonumber(redis.call('HGET', stats, 'run_ms')) or held_ms
      redis.call('HSET', stats, 'run_ms', math.floor(0.8 * average + 0.2 * held_ms))
    end
  end
  return used
end

-- When a task held back by a full slot set should come back: slots free about
-- one every run_ms / limit, so the tasks held for one value line up that far
-- apart (the back-off before any run was seen).
local function slot_due(task_type, cfg, value)
  local run_ms = tonumber(redis.call('HGET', limit_key('stats', task_type), 'run_ms'))
  local step = math.max(10, math.floor((run_ms or cfg.backoff_ms * cfg.concurrency) / cfg.concurrency))
  local next_key = limit_key('slot_next', task_type) .. ':' .. value
  local due = math.max(tonumber(redis.call('GET', next_key)) or 0, NOW_MS + step)
  redis.call('SET', next_key, due + step, 'PX', due + step - NOW_MS)
  return due
end

-- Books a hold: the task is due again at `due` (its score in tasks:scheduled is
-- the caller's), counted under `why`.
local function note_held(t, due, why)
  local held = limit_key('held', t.task_type)
  redis.call('ZREMRANGEBYSCORE', held, '-inf', NOW_MS - HELD_KEEP_MS)
  redis.call('ZADD', held, due, t.id)
  redis.call('HINCRBY', limit_key('stats', t.task_type), why, 1)
end

-- May the task run now? Takes its slot and token when it may (true); otherwise
-- returns false, the ms it should come back at, the counter and the reason.
local function limits_check(t)
  local cfg = limits_of(t.task_type)
  if not cfg then return true end
  local slots, value
  if (cfg.concurrency or 0) > 0 then
    value = key_value(t, cfg.key or '')
    slots = slots_key(t.task_type, value)
    if slots_used(t.task_type, slots, cfg.concurrency) >= cfg.concurrency then
      return false, slot_due(t.task_type, cfg, value), 'held_concurrency',
        'concurrency limit ' .. cfg.concurrency .. ' reached for ' .. (cfg.key or 'type')
        .. (value ~= '' and ('=' .. value) or '')
    end
  end
  if (cfg.capacity or 0) > 0 then
    local free = RATE_FREE[t.task_type]
    if free == nil then free = rate_settle(t.task_type, cfg) end
    if free <= 0 then
      RATE_FREE[t.task_type] = 0
      local again = redis.call('ZSCORE', limit_key('held', t.task_type), t.id)
      return false, rate_due(t.task_type, cfg, again), 'held_rate',
        'rate limit ' .. cfg.rate .. ' reached'
    end
    RATE_FREE[t.task_type] = free - 1
    local token = t.id .. '@' .. us_string(0)
    local pending = limit_key('rate_pending', t.task_type)
    redis.call('ZADD', pending, NOW_MS + cfg.start_within_ms, token)
    redis.call('PEXPIRE', pending, 2 * (cfg.start_within_ms + rate_window(cfg)))
    redis.call('HSET', task_key(t.id), 'rate_token', token)
  end
  if slots then
    redis.call('ZADD', slots, NOW_MS, t.id)
    redis.call('SADD', limit_key('slot_values', t.task_type), value)
  end
  redis.call('ZREM', limit_key('held', t.task_type), t.id)
  return true
end

-- For claim.lua and remote_claim.lua: a PENDING candidate (already off its list)
-- that may not run is parked, PENDING -> SCHEDULED until it can likely run: not a
-- failure, so retry_count and error_history stay; the history entry says why.
local function limits_admit(t, events)
  local ok, due, why, reason = limits_check(t)
  if ok then return true end
  move_state(t, 'SCHEDULED', { 'retry_after', iso_ms(due) }, reason)
  schedule_task(t, due)
  note_held(t, due, why)
  events[#events + 1] = changed(t, 'PENDING', 'SCHEDULED')
  return false
end

-- For _claim_due.lua: a due SCHEDULED first run that may not run stays SCHEDULED,
-- only due later (no transition: its history already says why it waits).
local function limits_admit_due(t)
  local ok, due, why = limits_check(t)
  if ok then return true end
  redis.call('ZADD', SCHEDULED, 'XX', due, t.id)
  redis.call('ZADD', scheduled_part(due_list(t)), 'XX', due, t.id)
  redis.call('HSET', task_key(t.id), 'retry_after', iso_ms(due))
  note_held(t, due, why)
  return false
end
