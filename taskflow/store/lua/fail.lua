-- fail: ACTIVE -> SCHEDULED (retries left, error retryable) or -> DLQ, only for the
-- lease holder. The error goes to error_history with its transition. A task a
-- client asked to cancel is not tried again: CANCELLED instead of SCHEDULED.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- ARGV[3]  lease token
-- ARGV[4]  error message
-- ARGV[5]  error type (class of contract §2)
-- ARGV[6]  '1' when the error is permanent (straight to the DLQ)
-- ARGV[7]  delay before the retry, in ms (schedule + jitter, computed by the caller)
-- ARGV[8]  '0' when the attempt does not count as a retry (the call was never made:
--          breaker open, no rate-limit token): rescheduled, retry_count unchanged
-- ARGV[9]  class name of an unexpected exception ('' for a classified error)
-- ARGV[10] the end of its traceback ('' when none)
-- Returns  the new state; errors NOTFOUND, LEASELOST, CORRUPT
local id, token, message, error_type = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local extra = {}
if (ARGV[9] or '') ~= '' then extra.exception = ARGV[9] end
if (ARGV[10] or '') ~= '' then extra.traceback = ARGV[10] end
local permanent, delay_ms, consumes = ARGV[6] == '1', tonumber(ARGV[7]), ARGV[8] ~= '0'
local t = must_load(id)
if t.state ~= 'ACTIVE' or t.lease_token ~= token then
  fail_with('LEASELOST', 'task ' .. id .. ' is no longer held with this lease')
end
release_hold(t)
count_worker(t.worker_id, 'failed')
local new_state = 'SCHEDULED'
if permanent or (consumes and t.retry_count >= t.max_retries) then new_state = 'DLQ'
elseif t.cancel_requested_at ~= '' then new_state = 'CANCELLED' end
local fields = error_fields(t, message, error_type, 'ACTIVE -> ' .. new_state,
  { 'lease_token', '' }, extra)
if new_state == 'DLQ' then
  move_state(t, 'DLQ', fields)
  enter_dlq(t)
elseif new_state == 'CANCELLED' then
  move_state(t, 'CANCELLED', fields)
else
  local due = NOW_MS + delay_ms
  fields[#fields + 1] = 'retry_count'
  fields[#fields + 1] = consumes and t.retry_count + 1 or t.retry_count
  fields[#fields + 1] = 'retry_after'
  fields[#fields + 1] = iso_ms(due)
  fields[#fields + 1] = 'queue'
  fields[#fields + 1] = 'retry'
  move_state(t, 'SCHEDULED', fields)
  t.queue = 'retry'
  schedule_task(t, due)
end
finish({ changed(t, 'ACTIVE', new_state) })
return new_state
