-- release: a worker shutting down hands tasks it has not finished back, ACTIVE ->
-- PENDING at the head of the queue they came from, with no retry counted; one a
-- client asked to cancel becomes CANCELLED instead.
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2..] pairs of task_id, lease token
-- Returns  how many tasks went back (ones whose lease was already lost are skipped)
local events = {}
-- Last pair first: after the pushes the first task given is the next one out, so
-- tasks go back in the order they were taken.
for i = #ARGV - 1, 2, -2 do
  local t = load_task(ARGV[i])
  if t and t.state == 'ACTIVE' and t.lease_token == ARGV[i + 1] then
    release_hold(t)
    if t.cancel_requested_at ~= '' then
      move_state(t, 'CANCELLED', { 'lease_token', '' })
    else
      move_state(t, 'PENDING', { 'lease_token', '' })
      -- RPUSH puts it at the consuming end of its queue's list: the next one taken.
      local q = queue_of(t)
      if t.queue == 'retry' then enqueue_retry(q, t.id, true) else enqueue_new(q, t.id, t.priority, true) end
    end
    events[#events + 1] = changed(t, 'ACTIVE', t.state)
  end
end
finish(events)
return #events
