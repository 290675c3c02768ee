-- Shared by create.lua and schedule_fire.lua (taskflow/store/scripts.py puts it
-- after the prelude): writes one new task. No run time, or one already due by the
-- server clock: PENDING at the tail of its queue's new-work list of its priority;
-- due later: SCHEDULED in tasks:scheduled (score = due ms) until promote.lua moves
-- it. `queue_name` is its named queue ('' or 'default': the original keys, and no
-- queue_name field in the hash, so an original client reads what it read).
-- Each task of one call gets its own microsecond, so index order is creation order.
local CREATE_SEQ = 0
local function create_task(id, task_type, content, metadata, max_retries, priority, idem,
                           payload, run_ms, queue_name, idem_ttl, retention_s, events)
  if redis.call('EXISTS', task_key(id)) == 1 then fail_with('CONFLICT', 'task ' .. id .. ' exists') end
  local h = task_key(id)
  local created_us = us_string(CREATE_SEQ)
  CREATE_SEQ = CREATE_SEQ + 1
  local delayed = run_ms ~= nil and run_ms > NOW_MS
  local state = delayed and 'SCHEDULED' or 'PENDING'
  redis.call('HSET', h,
    'task_id', id, 'task_type', task_type, 'state', state, 'content', content,
    'metadata', metadata, 'retry_count', 0, 'max_retries', max_retries, 'priority', priority,
    'last_error', '', 'error_type', '', 'retry_after', '', 'result', '',
    'created_at', NOW_ISO, 'updated_at', NOW_ISO, 'started_at', '', 'completed_at', '',
    'failed_at', '', 'scheduled_at', delayed and NOW_ISO or '', 'dlq_at', '',
    'run_at', delayed and iso_ms(run_ms) or '', 'cancelled_at', '', 'cancel_requested_at', '',
    'error_history', '[]',
    'state_history', cjson.encode({ { state = state, timestamp = NOW_ISO } }),
    'worker_id', '', 'idempotency_key', idem, 'created_us', created_us,
    'lease_token', '', 'queue', 'primary', 'has_payload', payload ~= '' and 1 or 0,
    'payload_size', string.len(payload), 'retention_s', retention_s)
  local q = queue_keys(queue_name)
  if q.name ~= DEFAULT_QUEUE then
    redis.call('HSET', h, 'queue_name', q.name)
    if not q.known then redis.call('SADD', KNOWN_QUEUES, q.name); q.known = true end
  end
  if payload ~= '' then redis.call('SET', payload_key(id), payload) end
  if idem ~= '' then redis.call('SET', idempotency_key(idem), id, 'EX', idem_ttl) end
  local t = { id = id, task_type = task_type, created_us = created_us }
  add_to_indexes(t, state)
  index_add(INDEX_ALL, created_us, id)
  index_add(INDEX_IDS, 0, id)
  index_add(type_index(task_type), created_us, id)
  count(state, 1)
  series('created', 1)
  if delayed then
    redis.call('ZADD', SCHEDULED, run_ms, id)
    events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type, state = state }
  else
    enqueue_new(q, id, priority)
    events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type }
  end
  return state
end
