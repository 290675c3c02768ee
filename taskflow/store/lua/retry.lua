-- retry: manual retry of a FAILED or DLQ task -> PENDING at the tail of
-- tasks:pending:retry (contract §1), optionally with retry_count reset to 0.
-- KEYS[1]  tasks:pending:retry
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- ARGV[3]  '1' to reset retry_count
-- Returns  1; errors NOTFOUND, CONFLICT (wrong state), CORRUPT
local id, reset = ARGV[2], ARGV[3] == '1'
local t = must_load(id)
if t.state ~= 'FAILED' and t.state ~= 'DLQ' then
  fail_with('CONFLICT', 'task ' .. id .. ' is ' .. t.state .. '; only FAILED or DLQ tasks can be retried')
end
if t.state == 'DLQ' then
  redis.call('LREM', DLQ, 0, id)
  redis.call('DEL', dlq_task_key(id))
end
local old_state = t.state
move_state(t, 'PENDING')
local h = task_key(id)
if reset then redis.call('HSET', h, 'retry_count', 0) end
redis.call('HSET', h, 'queue', 'retry', 'retry_after', '')
redis.call('LPUSH', RETRY, id)
publish({ changed(t, old_state, 'PENDING') })
return 1
