-- cancel: a client cancels a task. PENDING (in its list) or SCHEDULED (in
-- tasks:scheduled) -> CANCELLED at once. ACTIVE: the task stays ACTIVE and is
-- marked (cancel_requested_at, id in tasks:cancelling, a task_cancel_requested
-- event); its worker stops the handler and reports with cancelled.lua, or any
-- other script that ends it honours the mark (docs/state-machine.md).
-- KEYS[1]  tasks:pending:primary
-- ARGV[1]  key prefix
-- ARGV[2]  task_id
-- ARGV[3]  optional: cancel only if the task is in this queue (a bulk cancel's filter)
-- Returns  the state after the call (CANCELLED, or ACTIVE when marked); errors
--          NOTFOUND, CONFLICT (already COMPLETED, DLQ, CANCELLED or FAILED),
--          OTHERQUEUE (not in ARGV[3]'s queue: nothing changed), CORRUPT
local id = ARGV[2]
local t = must_load(id)
if ARGV[3] and ARGV[3] ~= '' and queue_of(t).name ~= ARGV[3] then
  fail_with('OTHERQUEUE', 'task ' .. id .. ' is in queue ' .. queue_of(t).name)
end
local old_state = t.state
if t.state == 'PENDING' then
  unqueue_pending(t)
elseif t.state == 'SCHEDULED' then
  old_state = unschedule_task(t)
elseif t.state == 'ACTIVE' then
  if t.cancel_requested_at == '' then
    redis.call('HSET', task_key(id), 'cancel_requested_at', NOW_ISO, 'updated_at', NOW_ISO)
    redis.call('SADD', CANCELLING, id)
    finish({ { type = 'task_cancel_requested', task_id = id, task_type = t.task_type } })
  end
  return 'ACTIVE'
else
  fail_with('CONFLICT', 'task ' .. id .. ' is ' .. t.state .. '; only PENDING, SCHEDULED or ACTIVE tasks can be cancelled')
end
move_state(t, 'CANCELLED', {})
finish({ changed(t, old_state, 'CANCELLED') })
return 'CANCELLED'
