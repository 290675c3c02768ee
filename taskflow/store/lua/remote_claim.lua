-- remote_claim: a remote worker (WorkerService) takes up to N tasks from its named
-- queues, PENDING -> ACTIVE, each under a lease: the same hold as claim.lua (active
-- set, lease index, lease token), so renew, complete, fail, release and the reaper
-- treat it exactly like a task held by one of our own workers.
-- KEYS[1]  tasks:pending:queue:{first queue}
-- ARGV[1]  key prefix
-- ARGV[2]  worker_id
-- ARGV[3]  how many tasks at most
-- ARGV[4]  lease length in ms
-- ARGV[5..] the worker's queue names, taken from in turn
-- Returns  per claimed task {lease_token, task_id, task_type, retry_count, content,
--          metadata}, as claim.lua
local worker, wanted, lease_ms = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local lists = {}
for i = 5, #ARGV do lists[#lists + 1] = named_list('queue:' .. ARGV[i]) end

local out, events, taken = {}, {}, 0
local next_token = tonumber(redis.call('INCRBY', LEASE_SEQ, wanted)) - wanted
local empty, turn = 0, 0
while taken < wanted and empty < #lists do
  turn = turn % #lists + 1
  local id = redis.call('RPOP', lists[turn])
  if not id then
    empty = empty + 1
  else
    empty = 0
    local t = load_task(id)
    -- An id whose hash is gone or not PENDING is a stale pointer: drop it.
    if t and t.state == 'PENDING' then
      next_token = next_token + 1
      local token = string.format('%d', next_token)
      move_state(t, 'ACTIVE', { 'worker_id', worker, 'lease_token', token })
      redis.call('SADD', active_tasks_key(worker), id)
      redis.call('ZADD', LEASES, NOW_MS + lease_ms, id)
      events[#events + 1] = changed(t, 'PENDING', 'ACTIVE')
      local input = redis.call('HMGET', task_key(id), 'content', 'metadata')
      out[#out + 1] = { token, id, t.task_type, string.format('%d', t.retry_count),
        input[1] or '', input[2] or '' }
      taken = taken + 1
    end
  end
end
finish(events)
return out
