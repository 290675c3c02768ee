-- create: add one or more tasks as PENDING at the tail of tasks:pending:primary.
-- KEYS[1]  tasks:pending:primary (routes the call in Redis Cluster)
-- ARGV[1]  key prefix
-- ARGV[2]  idempotency key TTL in seconds
-- ARGV[3..] eight values per task: task_id, task_type, content, metadata (JSON),
--          max_retries, priority, idempotency_key ('' = none), payload ('' = none)
-- Returns  a flat list: task_id, created (1, or 0 when the idempotency key already
--          named a task, whose id is returned instead)
local idem_ttl = tonumber(ARGV[2])
local out, events = {}, {}
-- Each task of a batch gets its own microsecond, so index order is creation order.
local seq = 0
for i = 3, #ARGV, 8 do
  local id, task_type, content, metadata = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local max_retries, priority, idem, payload = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local existing = idem ~= '' and redis.call('GET', idempotency_key(idem))
  if existing and redis.call('EXISTS', task_key(existing)) == 1 then
    out[#out + 1] = existing
    out[#out + 1] = 0
  else
    if redis.call('EXISTS', task_key(id)) == 1 then fail_with('CONFLICT', 'task ' .. id .. ' exists') end
    local h = task_key(id)
    local created_us = us_string(seq)
    seq = seq + 1
    redis.call('HSET', h,
      'task_id', id, 'task_type', task_type, 'state', 'PENDING', 'content', content,
      'metadata', metadata, 'retry_count', 0, 'max_retries', max_retries, 'priority', priority,
      'last_error', '', 'error_type', '', 'retry_after', '', 'result', '',
      'created_at', NOW_ISO, 'updated_at', NOW_ISO, 'started_at', '', 'completed_at', '',
      'failed_at', '', 'scheduled_at', '', 'dlq_at', '',
      'error_history', '[]',
      'state_history', cjson.encode({ { state = 'PENDING', timestamp = NOW_ISO } }),
      'worker_id', '', 'idempotency_key', idem, 'created_us', created_us,
      'lease_token', '', 'queue', 'primary', 'has_payload', payload ~= '' and 1 or 0,
      'payload_size', string.len(payload))
    if payload ~= '' then redis.call('SET', payload_key(id), payload) end
    if idem ~= '' then redis.call('SET', idempotency_key(idem), id, 'EX', idem_ttl) end
    local t = { id = id, task_type = task_type, created_us = created_us }
    add_to_indexes(t, 'PENDING')
    redis.call('ZADD', INDEX_ALL, created_us, id)
    redis.call('ZADD', INDEX_IDS, 0, id)
    redis.call('ZADD', type_index(task_type), created_us, id)
    count('PENDING', 1)
    series('created', 1)
    redis.call('LPUSH', PRIMARY, id)
    wake()
    events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type }
    out[#out + 1] = id
    out[#out + 1] = 1
  end
end
finish(events)
return out
