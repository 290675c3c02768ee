-- Used by delete.lua (taskflow/store/scripts.py puts it after _remove_task): removes
-- what is left of a task whose hash load_task cannot read (malformed fields, no
-- `state` field, or not a hash at all), with every list, set and index entry that
-- may still name its id, in the same call. What is unreadable is not trusted to say
-- where the id sits, so every place it could be is cleared: each state index, each
-- priority level, the retry and waiting lists of the queue its fields name, the
-- schedule, leases, DLQ, cancel set and tasks:corrupt.
-- Counters: the truth they are kept equal to is the `state` field of each hash
-- (tests/support/truth.py). A valid state is counted there and is taken off its
-- counter, with a task_deleted event; any other (missing, unknown) is counted
-- nowhere, so nothing is decremented and no event is sent (its old_state would not
-- be a contract §5 state). Returns the state readers saw ('' when none).
local MALFORMED_FIELDS = { 'state', 'task_type', 'queue', 'queue_name', 'worker_id',
  'idempotency_key' }
local function field_text(v) return type(v) == 'string' and v or '' end
local function remove_malformed(id)
  local k = task_key(id)
  local v = { false, false, false, false, false, false }
  if redis.call('TYPE', k).ok == 'hash' then v = redis.call('HMGET', k, unpack(MALFORMED_FIELDS)) end
  local t = { id = id, state = field_text(v[1]), task_type = field_text(v[2]),
    queue = field_text(v[3]), queue_name = field_text(v[4]) }
  local worker, idem = field_text(v[5]), field_text(v[6])
  local counted = IS_STATE[t.state] == true
  local seen = t.state
  local due_ms = tonumber(redis.call('ZSCORE', SCHEDULED, id))
  if t.state == 'SCHEDULED' and due_ms and due_ms <= NOW_MS then seen = 'PENDING' end
  local q = queue_of(t)
  for level = 0, 9 do
    local list = level_list(q, level)
    redis.call('LREM', list, 0, id)
    redis.call('ZREM', scheduled_part(list), id)
  end
  redis.call('LREM', q.retry, 0, id)
  redis.call('ZREM', scheduled_part(q.retry), id)
  if t.task_type ~= '' then
    redis.call('LREM', q.waiting_prefix .. t.task_type, 0, id)
    redis.call('ZREM', type_index(t.task_type), id)
  end
  for _, state in ipairs(STATES) do
    redis.call('ZREM', state_index(state), id)
    if t.task_type ~= '' then redis.call('ZREM', state_type_index(state, t.task_type), id) end
  end
  redis.call('ZREM', SCHEDULED, id)
  redis.call('SREM', scheduled_moved(), id)
  redis.call('ZREM', LEASES, id)
  if worker ~= '' then redis.call('SREM', active_tasks_key(worker), id) end
  redis.call('SREM', CANCELLING, id)
  redis.call('LREM', DLQ, 0, id)
  redis.call('LREM', CORRUPT, 0, id)
  redis.call('ZREM', INDEX_ALL, id)
  redis.call('ZREM', INDEX_IDS, id)
  redis.call('ZREM', EXPIRY, id)
  if idem ~= '' and redis.call('GET', idempotency_key(idem)) == id then
    redis.call('DEL', idempotency_key(idem))
  end
  redis.call('DEL', k, dlq_task_key(id), payload_key(id), logs_key(id))
  if not counted then
    finish({})
    return ''
  end
  count(t.state, -1)
  finish({ { type = 'task_deleted', task_id = id, task_type = t.task_type, old_state = seen } })
  return seen
end
