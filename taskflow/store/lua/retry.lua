-- retry: manual retry of a FAILED or DLQ task -> PENDING at the tail of
-- its queue's retry list (default queue: tasks:pending:retry, contract §1),
-- optionally with retry_count reset to 0.
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
local fields = { 'queue', 'retry', 'retry_after', '' }
if reset then
  fields[#fields + 1] = 'retry_count'
  fields[#fields + 1] = 0
end
move_state(t, 'PENDING', fields)
enqueue_retry(queue_of(t), id, false)
finish({ changed(t, old_state, 'PENDING') })
return 1
