-- expire: retention (docs/state-machine.md). Removes terminal tasks whose expiry
-- time (tasks:expiry score, ms) has passed, each as delete.lua removes a task, so
-- the counters stay equal to the hashes. One call per batch.
-- KEYS[1]  tasks:expiry
-- ARGV[1]  key prefix
-- ARGV[2]  most ids to expire in this call
-- Returns  { expired, due ids looked at, ms until the next expiry or -1 if none }
local ids = redis.call('ZRANGE', EXPIRY, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local events = {}
for _, id in ipairs(ids) do
  local readable, t = pcall(load_task, id)
  if not readable then
    -- Malformed stored fields: set aside in tasks:corrupt for an operator (DeleteTask
    -- removes what is left), as a claim does. Failing the call would stop retention
    -- at this id for good, since it stays due.
    redis.call('ZREM', EXPIRY, id)
    redis.call('LPUSH', CORRUPT, id)
  elseif t and TERMINAL[t.state] then
    events[#events + 1] = remove_task(t)
  else
    redis.call('ZREM', EXPIRY, id)  -- gone or no longer terminal: nothing to expire
  end
end
finish(events)
local head = redis.call('ZRANGE', EXPIRY, 0, 0, 'WITHSCORES')
return { #events, #ids, head[2] and math.max(0, tonumber(head[2]) - NOW_MS) or -1 }
