-- promote: SCHEDULED tasks whose due time has come -> PENDING at the tail of the
-- list their `queue` field names: tasks:pending:retry for a retry (fail.lua sets
-- it), tasks:pending:primary for a task created with a run time that never ran.
-- retry_count is untouched. Safe with several schedulers: each id moves once.
-- KEYS[1]  tasks:scheduled
-- ARGV[1]  key prefix
-- ARGV[2]  how many at most in this call
-- Returns  {moved, ms until the next due task or -1 when none is scheduled}
local limit = tonumber(ARGV[2])
local due = redis.call('ZRANGE', SCHEDULED, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, limit)
local events = {}
for _, id in ipairs(due) do
  redis.call('ZREM', SCHEDULED, id)
  local t = load_task(id)
  if t and t.state == 'SCHEDULED' then
    local first_run = t.queue == 'primary'
    move_state(t, 'PENDING', { 'queue', first_run and 'primary' or 'retry' })
    if first_run then push_new(id, t.priority) else redis.call('LPUSH', RETRY, id) end
    wake()
    events[#events + 1] = changed(t, 'SCHEDULED', 'PENDING')
  end
end
finish(events)
local next_due = redis.call('ZRANGE', SCHEDULED, 0, 0, 'WITHSCORES')
local wait = -1
if next_due[2] then wait = math.max(0, tonumber(next_due[2]) - NOW_MS) end
return { #events, wait }
