-- renew: a live worker extends the leases of the tasks it holds.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  lease length in ms
-- ARGV[3..] pairs of task_id, lease token
-- Returns  the ids this worker no longer holds (deleted, or lease lost and requeued),
--          so it can stop working on them
local lease_ms, lost = tonumber(ARGV[2]), {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local state, held = unpack(redis.call('HMGET', task_key(id), 'state', 'lease_token'))
  if state == 'ACTIVE' and held == token then
    redis.call('ZADD', LEASES, 'XX', NOW_MS + lease_ms, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
