-- park: ACTIVE -> SCHEDULED until a due time, only for the lease holder. Not a
-- failure: the task was held back (say its provider's breaker opened while it
-- waited to send), so retry_count stays, error_history and the worker's failure
-- count are untouched, and the state_history entry carries the reason. Promotion
-- brings it back to the list its `queue` field names, like any scheduled task.
-- KEYS[1]  tasks:scheduled
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- ARGV[3]  lease token
-- ARGV[4]  hold back this many ms
-- ARGV[5]  reason (one line, for the history)
-- Returns  'SCHEDULED' ('CANCELLED' for a task a client asked to cancel: it is not
--          held back to run again); errors NOTFOUND, LEASELOST, CORRUPT
local id, token, delay_ms, reason = ARGV[2], ARGV[3], math.max(0, tonumber(ARGV[4]) or 0), ARGV[5]
local t = must_load(id)
if t.state ~= 'ACTIVE' or t.lease_token ~= token then
  fail_with('LEASELOST', 'task ' .. id .. ' is no longer held with this lease')
end
release_hold(t)
if t.cancel_requested_at ~= '' then
  move_state(t, 'CANCELLED', { 'lease_token', '' })
  finish({ changed(t, 'ACTIVE', 'CANCELLED') })
  return 'CANCELLED'
end
local due = NOW_MS + delay_ms
move_state(t, 'SCHEDULED', { 'lease_token', '', 'retry_after', iso_ms(due) }, reason)
schedule_task(t, due)
finish({ changed(t, 'ACTIVE', 'SCHEDULED') })
return 'SCHEDULED'
