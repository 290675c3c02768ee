-- complete: ACTIVE -> COMPLETED with its result, only for the lease holder.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- ARGV[3]  lease token from claim (fencing: a worker that lost its lease is refused)
-- ARGV[4]  result text
-- Returns  1; errors NOTFOUND, LEASELOST, CORRUPT
local id, token, result = ARGV[2], ARGV[3], ARGV[4]
local t = must_load(id)
if t.state ~= 'ACTIVE' or t.lease_token ~= token then
  fail_with('LEASELOST', 'task ' .. id .. ' is no longer held with this lease')
end
release_hold(t)
move_state(t, 'COMPLETED')
redis.call('HSET', task_key(id), 'result', result)
redis.call('HINCRBY', worker_stats_key(t.worker_id), 'completed', 1)
publish({ changed(t, 'ACTIVE', 'COMPLETED') })
return 1
