-- reap: tasks whose lease expired (their worker died or hung) go back to work:
-- ACTIVE -> PENDING at the tail of its queue's retry list, the lost attempt counted as
-- a retry and recorded in error_history; with no retries left -> DLQ, so a task that
-- kills every worker that runs it cannot loop forever. A task a client asked to
-- cancel ends CANCELLED instead. Safe with several schedulers.
-- KEYS[1]  tasks:leases
-- ARGV[1]  key prefix
-- ARGV[2]  how many at most in this call
-- Returns  {requeued, sent to the DLQ, cancelled}
local limit = tonumber(ARGV[2])
local expired = redis.call('ZRANGE', LEASES, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0, limit)
local events, requeued, dead, cancelled = {}, 0, 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', LEASES, id)
  local readable, t = pcall(load_task, id)
  if not readable then
    -- Malformed stored fields: set aside for an operator, as a claim does. Failing
    -- here would keep the moves above this id but lose their counters and events.
    redis.call('LPUSH', CORRUPT, id)
  elseif t and t.state == 'ACTIVE' then
    local message = 'worker ' .. t.worker_id .. ' stopped renewing its lease'
    release_hold(t)
    local new_state = t.retry_count >= t.max_retries and 'DLQ' or 'PENDING'
    if t.cancel_requested_at ~= '' then new_state = 'CANCELLED' end
    local fields = error_fields(t, message, 'WorkerLost', 'ACTIVE -> ' .. new_state, { 'lease_token', '' })
    if new_state == 'DLQ' then
      move_state(t, 'DLQ', fields)
      enter_dlq(t)
      dead = dead + 1
    elseif new_state == 'CANCELLED' then
      move_state(t, 'CANCELLED', fields)
      cancelled = cancelled + 1
    else
      for _, v in ipairs({ 'retry_count', t.retry_count + 1, 'queue', 'retry' }) do
        fields[#fields + 1] = v
      end
      move_state(t, 'PENDING', fields)
      enqueue_retry(queue_of(t), id, false)
      requeued = requeued + 1
    end
    events[#events + 1] = changed(t, 'ACTIVE', new_state)
  end
end
finish(events)
return { requeued, dead, cancelled }
