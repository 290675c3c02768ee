-- claim: a worker takes up to N tasks, PENDING -> ACTIVE, each under a lease.
-- The id moves from its queue into the worker's active set and the lease index in
-- this one step, so a worker that dies afterwards never loses it (the reaper
-- requeues it when the lease expires).
-- New work is taken by priority: the highest non-empty level first, FIFO within a
-- level; every Nth new-work claim (ARGV[11]; 0 = never) goes to the levels below
-- the highest in turn, so no level waits forever (docs/state-machine.md).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  worker_id
-- ARGV[3]  how many tasks at most
-- ARGV[4]  lease length in ms
-- ARGV[5]  a uniform random number in [0, 1) drawn by the caller
-- ARGV[6..10] retry ratio: default, warning length, ratio at warning,
--          critical length, ratio at critical (contract §2)
-- ARGV[11] N: every Nth new-work claim serves a lower priority level
-- Returns  per claimed task {lease_token, task_id, task_type, retry_count, content,
--          metadata}: what a worker needs to run it, not the whole hash (histories
--          and timestamps stay in Redis; copying them out was a third of the claim)
local worker, wanted, lease_ms, u = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local lower_every = tonumber(ARGV[11])
local retry_len = redis.call('LLEN', RETRY)
local ratio = tonumber(ARGV[6])
if retry_len >= tonumber(ARGV[9]) then ratio = tonumber(ARGV[10])
elseif retry_len >= tonumber(ARGV[7]) then ratio = tonumber(ARGV[8]) end

-- Levels that may hold new work, highest first; level 0 (the original list) last.
local order = {}
for i, level in ipairs(redis.call('ZREVRANGE', LEVELS, 0, -1)) do order[i] = tonumber(level) end
order[#order + 1] = 0
-- Count of new-work claims, kept across calls (read only when levels are in use).
local turn = nil
local function pop_new()
  local lower = false
  if #order > 1 and lower_every > 0 then
    turn = (turn or tonumber(redis.call('GET', LEVEL_TURN)) or 0) + 1
    lower = turn % lower_every == 0
  end
  while #order > 0 do
    local at = 1
    if lower and #order > 1 then at = 2 + math.floor(turn / lower_every) % (#order - 1) end
    local level = order[at]
    local id = redis.call('RPOP', level_list(level))
    if id then return id end
    if level > 0 then redis.call('ZREM', LEVELS, level) end
    table.remove(order, at)
  end
  return nil
end

local out, events, taken = {}, {}, 0
-- Lease tokens for the whole batch come from one INCRBY.
local next_token = tonumber(redis.call('INCRBY', LEASE_SEQ, wanted)) - wanted
local draw = u
while taken < wanted do
  -- A golden-ratio sequence from one random start: over a batch the share of
  -- reads that try the retry queue first matches `ratio` closely.
  draw = (draw + 0.6180339887498949) % 1
  local retry_first = draw < ratio
  local id, queue_name
  if retry_first then id, queue_name = redis.call('RPOP', RETRY), 'retry' end
  if not id then id, queue_name = pop_new(), 'primary' end
  if not id and not retry_first then id, queue_name = redis.call('RPOP', RETRY), 'retry' end
  if not id then break end
  local t = load_task(id)
  -- An id whose hash is gone or not PENDING is a stale pointer: drop it.
  if t and t.state == 'PENDING' then
    next_token = next_token + 1
    local token = string.format('%d', next_token)
    move_state(t, 'ACTIVE', { 'worker_id', worker, 'lease_token', token, 'queue', queue_name })
    local h = task_key(id)
    redis.call('SADD', active_tasks_key(worker), id)
    redis.call('ZADD', LEASES, NOW_MS + lease_ms, id)
    events[#events + 1] = changed(t, 'PENDING', 'ACTIVE')
    local input = redis.call('HMGET', h, 'content', 'metadata')
    out[#out + 1] = { token, id, t.task_type, string.format('%d', t.retry_count),
      input[1] or '', input[2] or '' }
    taken = taken + 1
  end
end
-- Lists empty and room left: due first runs straight from tasks:scheduled (_claim_due.lua).
if taken < wanted then taken = taken + claim_due(worker, wanted - taken, lease_ms, next_token, out, events) end
if turn then redis.call('SET', LEVEL_TURN, turn) end
finish(events)
return out
