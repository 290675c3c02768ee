-- Shared by delete.lua and expire.lua (taskflow/store/scripts.py puts it after the
-- prelude): removes a loaded task with everything that points at it: its queue or
-- set membership, indexes, counter, expiry entry, DLQ copy, payload, log lines
-- and idempotency key. Returns the task_deleted event.
local function remove_task(t)
  local id = t.id
  local seen = t.state  -- as readers saw it (due means PENDING)
  if t.state == 'PENDING' then
    unqueue_pending(t)
  elseif t.state == 'SCHEDULED' then
    seen = unschedule_task(t)
  elseif t.state == 'DLQ' then
    redis.call('LREM', DLQ, 0, id)
  elseif t.state == 'ACTIVE' then
    release_hold(t)
  end
  count(t.state, -1)
  remove_from_indexes(t, t.state)
  redis.call('ZREM', INDEX_ALL, id)
  redis.call('ZREM', INDEX_IDS, id)
  redis.call('ZREM', type_index(t.task_type), id)
  redis.call('ZREM', EXPIRY, id)
  if t.idempotency_key ~= '' and redis.call('GET', idempotency_key(t.idempotency_key)) == id then
    redis.call('DEL', idempotency_key(t.idempotency_key))
  end
  redis.call('DEL', task_key(id), dlq_task_key(id), payload_key(id), logs_key(id))
  return { type = 'task_deleted', task_id = id, task_type = t.task_type, old_state = seen }
end
