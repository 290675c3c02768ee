-- create: add one or more tasks. A task with no run time, or one already due by
-- the server clock, is PENDING at the tail of tasks:pending:primary (priority 0)
-- or of its priority's list tasks:pending:primary:p{1..9}; one due
-- later is SCHEDULED in tasks:scheduled (score = due ms) until promote.lua moves
-- it to the primary queue (docs/state-machine.md).
-- A task of a remote worker's type goes to its named queue instead
-- (tasks:pending:queue:NAME), whatever its priority.
-- KEYS[1]  tasks:pending:primary (routes the call in Redis Cluster)
-- ARGV[1]  key prefix
-- ARGV[2]  idempotency key TTL in seconds
-- ARGV[3..] ten values per task: task_id, task_type, content, metadata (JSON),
--          max_retries, priority, idempotency_key ('' = none), payload ('' = none),
--          run time in unix ms ('' = at once), named queue ('' = none)
-- Returns  a flat list: task_id, created (1, or 0 when the idempotency key already
--          named a task, whose id is returned instead), state
local idem_ttl = tonumber(ARGV[2])
local out, events = {}, {}
-- Each task of a batch gets its own microsecond, so index order is creation order.
local seq = 0
for i = 3, #ARGV, 10 do
  local id, task_type, content, metadata = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local max_retries, priority, idem, payload = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local run_ms = tonumber(ARGV[i + 8])
  local queue = ARGV[i + 9] == '' and 'primary' or 'queue:' .. ARGV[i + 9]
  local existing = idem ~= '' and redis.call('GET', idempotency_key(idem))
  if existing and redis.call('EXISTS', task_key(existing)) == 1 then
    out[#out + 1] = existing
    out[#out + 1] = 0
    out[#out + 1] = redis.call('HGET', task_key(existing), 'state')
  else
    if redis.call('EXISTS', task_key(id)) == 1 then fail_with('CONFLICT', 'task ' .. id .. ' exists') end
    local h = task_key(id)
    local created_us = us_string(seq)
    seq = seq + 1
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
      'lease_token', '', 'queue', queue, 'has_payload', payload ~= '' and 1 or 0,
      'payload_size', string.len(payload))
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
      if named_list(queue) then
        enqueue(named_list(queue), id, false)
      else
        push_new(id, priority)
        wake()
      end
      events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type }
    end
    out[#out + 1] = id
    out[#out + 1] = 1
    out[#out + 1] = state
  end
end
finish(events)
return out
